output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr_blocks" {
  description = "Every IPv4 CIDR of the VPC (primary, then the secondary if any)."
  value       = compact([var.cidr_block, var.secondary_cidr_block])
}

output "public_subnet_ids" {
  description = "Public subnets, one per AZ (load balancer, NAT)."
  value       = aws_subnet.public[*].id
}

output "private_subnet_ids" {
  description = "Private subnets, one per AZ (database, internal load balancer, VPC endpoints)."
  value       = aws_subnet.private[*].id
}

output "workload_subnet_ids" {
  description = "Subnets for the ECS tasks: the secondary-CIDR subnets when secondary_cidr_block is set, else the private subnets."
  value       = local.workload_subnets
}

output "azs" {
  description = "Availability zones in use."
  value       = local.azs
}

output "s3_endpoint_id" {
  description = "ID of the S3 gateway endpoint (bucket policies may restrict access to it)."
  value       = aws_vpc_endpoint.s3.id
}

output "nat_public_ips" {
  description = "Public IPs that outbound traffic leaves from (for allow-lists such as the APOD API)."
  value       = var.nat_mode == "instance" ? aws_eip.nat_instance[*].public_ip : aws_eip.nat[*].public_ip
}
