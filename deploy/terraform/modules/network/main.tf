# VPC across two (or three) AZs: public subnets for the load balancer and NAT, private subnets
# for RDS and (unless a secondary CIDR is given) the ECS tasks, and VPC endpoints so that image
# pulls, logs, queue and bucket traffic never cross the NAT (cheaper, and it keeps working when
# nat_mode = "none").

data "aws_availability_zones" "available" {
  #checkov:skip=CKV_AWS_394:Only the first az_count zones in name order are used, so a newly added zone (which sorts last) changes nothing; set availability_zones to pin them by name.
  state = "available"
}

data "aws_region" "current" {}

locals {
  az_count         = length(var.availability_zones) > 0 ? length(var.availability_zones) : var.az_count
  azs              = length(var.availability_zones) > 0 ? var.availability_zones : slice(sort(data.aws_availability_zones.available.names), 0, var.az_count)
  nat_gateway      = contains(["gateway", "single_gateway"], var.nat_mode)
  nat_gateways     = var.nat_mode == "gateway" ? local.az_count : (var.nat_mode == "single_gateway" ? 1 : 0)
  use_secondary    = var.secondary_cidr_block != null
  tags             = merge(var.tags, { "salon:module" = "network" })
  workload_subnets = local.use_secondary ? aws_subnet.workload[*].id : aws_subnet.private[*].id
  # Without a NAT the web tasks still verify Cognito tokens and call GetUser: cognito-idp
  # must then be reachable through its own endpoint.
  interface_endpoints = distinct(concat(var.interface_endpoints, var.nat_mode == "none" ? ["cognito-idp"] : []))
}

resource "aws_vpc" "this" {
  cidr_block           = var.cidr_block
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = merge(local.tags, { Name = var.name })
}

resource "aws_vpc_ipv4_cidr_block_association" "secondary" {
  count = local.use_secondary ? 1 : 0

  vpc_id     = aws_vpc.this.id
  cidr_block = var.secondary_cidr_block
}

# Nothing may use the default security group: it is emptied so a forgotten
# security_groups argument fails closed.
resource "aws_default_security_group" "this" {
  vpc_id = aws_vpc.this.id
  tags   = merge(local.tags, { Name = "${var.name}-default-unused" })
}

resource "aws_internet_gateway" "this" {
  vpc_id = aws_vpc.this.id
  tags   = merge(local.tags, { Name = var.name })
}

resource "aws_subnet" "public" {
  count = local.az_count

  vpc_id            = aws_vpc.this.id
  availability_zone = local.azs[count.index]
  cidr_block        = cidrsubnet(var.cidr_block, 4, count.index)

  tags = merge(local.tags, { Name = "${var.name}-public-${local.azs[count.index]}", "salon:tier" = "public" })
}

resource "aws_subnet" "private" {
  count = local.az_count

  vpc_id            = aws_vpc.this.id
  availability_zone = local.azs[count.index]
  cidr_block        = cidrsubnet(var.cidr_block, 4, count.index + 8)

  tags = merge(local.tags, { Name = "${var.name}-private-${local.azs[count.index]}", "salon:tier" = "private" })
}

# Workload subnets live in the secondary CIDR (e.g. 100.64.0.0/16, not routable outside the VPC)
# so hundreds of task ENIs do not exhaust a small corporate-allocated primary range.
resource "aws_subnet" "workload" {
  count = local.use_secondary ? local.az_count : 0

  vpc_id            = aws_vpc_ipv4_cidr_block_association.secondary[0].vpc_id
  availability_zone = local.azs[count.index]
  cidr_block        = cidrsubnet(var.secondary_cidr_block, 2, count.index)

  tags = merge(local.tags, { Name = "${var.name}-workload-${local.azs[count.index]}", "salon:tier" = "workload" })
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.this.id
  tags   = merge(local.tags, { Name = "${var.name}-public" })
}

resource "aws_route" "public_internet" {
  route_table_id         = aws_route_table.public.id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.this.id
}

resource "aws_route_table_association" "public" {
  count = local.az_count

  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public.id
}

# One private route table per AZ, so each AZ can use its own NAT gateway.
resource "aws_route_table" "private" {
  count = local.az_count

  vpc_id = aws_vpc.this.id
  tags   = merge(local.tags, { Name = "${var.name}-private-${local.azs[count.index]}" })
}

resource "aws_route_table_association" "private" {
  count = local.az_count

  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private[count.index].id
}

resource "aws_route_table_association" "workload" {
  count = local.use_secondary ? local.az_count : 0

  subnet_id      = aws_subnet.workload[count.index].id
  route_table_id = aws_route_table.private[count.index].id
}

resource "aws_eip" "nat" {
  count = local.nat_gateways

  domain = "vpc"
  tags   = merge(local.tags, { Name = "${var.name}-nat-${count.index}" })

  depends_on = [aws_internet_gateway.this]
}

resource "aws_nat_gateway" "this" {
  count = local.nat_gateways

  allocation_id = aws_eip.nat[count.index].id
  subnet_id     = aws_subnet.public[count.index].id
  tags          = merge(local.tags, { Name = "${var.name}-nat-${count.index}" })
}

resource "aws_route" "private_nat_gateway" {
  count = local.nat_gateway ? local.az_count : 0

  route_table_id         = aws_route_table.private[count.index].id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.this[min(count.index, local.nat_gateways - 1)].id
}

# --- NAT instance (nat_mode = "instance"): ~1/10 of a NAT gateway's price, one AZ, no HA. ---

data "aws_ssm_parameter" "al2023_arm64" {
  count = var.nat_mode == "instance" && var.nat_instance_ami_id == null ? 1 : 0

  name = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
}

resource "aws_security_group" "nat" {
  count = var.nat_mode == "instance" ? 1 : 0

  name        = "${var.name}-nat-instance"
  description = "NAT instance: forwards outbound traffic from the VPC"
  vpc_id      = aws_vpc.this.id
  tags        = local.tags
}

resource "aws_vpc_security_group_ingress_rule" "nat_from_vpc" {
  count = var.nat_mode == "instance" ? 1 : 0

  security_group_id = aws_security_group.nat[0].id
  description       = "All traffic from inside the VPC, to be forwarded"
  ip_protocol       = "-1"
  cidr_ipv4         = local.use_secondary ? var.secondary_cidr_block : var.cidr_block
  tags              = local.tags
}

resource "aws_vpc_security_group_ingress_rule" "nat_from_primary" {
  count = var.nat_mode == "instance" && local.use_secondary ? 1 : 0

  security_group_id = aws_security_group.nat[0].id
  description       = "All traffic from the primary CIDR, to be forwarded"
  ip_protocol       = "-1"
  cidr_ipv4         = var.cidr_block
  tags              = local.tags
}

# Exactly ports 80 and 443: a single 80-443 range would also open everything in between.
resource "aws_vpc_security_group_egress_rule" "nat_out" {
  for_each = var.nat_mode == "instance" ? toset(["80", "443"]) : toset([])

  security_group_id = aws_security_group.nat[0].id
  description       = "Forwarded traffic to the internet on port ${each.value}"
  ip_protocol       = "tcp"
  from_port         = tonumber(each.value)
  to_port           = tonumber(each.value)
  cidr_ipv4         = "0.0.0.0/0"
  tags              = local.tags
}

resource "aws_instance" "nat" {
  count = var.nat_mode == "instance" ? 1 : 0

  #checkov:skip=CKV_AWS_88:A NAT instance needs a public IP to forward traffic; it accepts connections only from inside the VPC.
  #checkov:skip=CKV_AWS_126:Detailed monitoring costs more than the NAT instance itself; basic metrics suffice.
  #checkov:skip=CKV2_AWS_41:The NAT instance needs no AWS API access, so it gets no instance profile.
  ami                         = coalesce(var.nat_instance_ami_id, try(data.aws_ssm_parameter.al2023_arm64[0].value, null))
  instance_type               = var.nat_instance_type
  subnet_id                   = aws_subnet.public[0].id
  vpc_security_group_ids      = [aws_security_group.nat[0].id]
  associate_public_ip_address = true
  source_dest_check           = false
  ebs_optimized               = true
  user_data_replace_on_change = true

  metadata_options {
    http_tokens   = "required"
    http_endpoint = "enabled"
  }

  root_block_device {
    encrypted   = true
    volume_type = "gp3"
  }

  # Turn the instance into a router: forward and masquerade everything leaving ens5.
  user_data = <<-EOT
    #!/bin/bash
    set -euo pipefail
    dnf install -y iptables-services
    sysctl -w net.ipv4.ip_forward=1
    echo 'net.ipv4.ip_forward = 1' > /etc/sysctl.d/90-nat.conf
    iface=$(ip route show default | awk '{print $5}')
    iptables -t nat -A POSTROUTING -o "$iface" -j MASQUERADE
    iptables -F FORWARD
    service iptables save
    systemctl enable --now iptables
  EOT

  tags = merge(local.tags, { Name = "${var.name}-nat-instance" })

  # The AMI comes from SSM's "latest" parameter: without this, every new Amazon Linux release
  # would replace the NAT instance (and cut outbound traffic) on the next apply. Patch it by
  # replacing it on purpose (`terraform apply -replace=...`).
  lifecycle {
    ignore_changes = [ami]
  }
}

# A stable public address for the NAT instance, so nat_public_ips is what partners allow-list
# and it survives a stop/start or replacement of the instance.
resource "aws_eip" "nat_instance" {
  count = var.nat_mode == "instance" ? 1 : 0

  domain   = "vpc"
  instance = aws_instance.nat[0].id
  tags     = merge(local.tags, { Name = "${var.name}-nat-instance" })

  depends_on = [aws_internet_gateway.this]
}

resource "aws_route" "private_nat_instance" {
  count = var.nat_mode == "instance" ? local.az_count : 0

  route_table_id         = aws_route_table.private[count.index].id
  destination_cidr_block = "0.0.0.0/0"
  network_interface_id   = aws_instance.nat[0].primary_network_interface_id
}

# --- VPC endpoints ---

resource "aws_vpc_endpoint" "s3" {
  vpc_id            = aws_vpc.this.id
  service_name      = "com.amazonaws.${data.aws_region.current.name}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = aws_route_table.private[*].id
  tags              = merge(local.tags, { Name = "${var.name}-s3" })
}

resource "aws_security_group" "endpoints" {
  name        = "${var.name}-vpc-endpoints"
  description = "Interface VPC endpoints: HTTPS from inside the VPC"
  vpc_id      = aws_vpc.this.id
  tags        = local.tags
}

resource "aws_vpc_security_group_ingress_rule" "endpoints" {
  for_each = toset(compact([var.cidr_block, var.secondary_cidr_block]))

  security_group_id = aws_security_group.endpoints.id
  description       = "HTTPS to AWS APIs from ${each.value}"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value
  tags              = local.tags
}

resource "aws_vpc_endpoint" "interface" {
  for_each = toset(local.interface_endpoints)

  vpc_id              = aws_vpc.this.id
  service_name        = "com.amazonaws.${data.aws_region.current.name}.${each.value}"
  vpc_endpoint_type   = "Interface"
  subnet_ids          = aws_subnet.private[*].id
  security_group_ids  = [aws_security_group.endpoints.id]
  private_dns_enabled = true
  tags                = merge(local.tags, { Name = "${var.name}-${each.value}" })
}

# --- Flow logs: rejected and accepted traffic, for incident response. ---

resource "aws_cloudwatch_log_group" "flow" {
  #checkov:skip=CKV_AWS_338:Flow logs are kept 30 days by default for cost; set flow_log_retention_days for longer.
  name              = "/salon/${var.name}/vpc-flow-logs"
  retention_in_days = var.flow_log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = local.tags
}

resource "aws_iam_role" "flow" {
  name = "${var.name}-vpc-flow-logs"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "vpc-flow-logs.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
  tags = local.tags
}

resource "aws_iam_role_policy" "flow" {
  name = "write-flow-logs"
  role = aws_iam_role.flow.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
      Resource = "${aws_cloudwatch_log_group.flow.arn}:*"
    }]
  })
}

resource "aws_flow_log" "this" {
  vpc_id          = aws_vpc.this.id
  traffic_type    = "ALL"
  log_destination = aws_cloudwatch_log_group.flow.arn
  iam_role_arn    = aws_iam_role.flow.arn
  tags            = local.tags
}
