# The web service: `salon serve` on Fargate behind an ALB. HTTPS on 443 with an ACM
# certificate, HTTP only redirects, target health on the shallow /health (a blip of S3, SQS or
# RDS must not get every task replaced; /ready is the deep check), and a deployment circuit breaker
# that rolls a failing image back to the last good task definition by itself. The migration
# task definition lives here too: same image and settings, run once per release.

data "aws_region" "current" {}

locals {
  tags            = merge(var.tags, { "salon:module" = "web" })
  certificate_arn = var.certificate_arn != null ? var.certificate_arn : aws_acm_certificate_validation.this[0].certificate_arn
  environment     = [for k in sort(keys(var.environment)) : { name = k, value = var.environment[k] }]
  secrets         = [for k in sort(keys(var.secrets)) : { name = k, valueFrom = var.secrets[k] }]

  # Salon needs a writable data folder and /tmp; the root filesystem stays read-only.
  volumes = [{ name = "data" }, { name = "tmp" }]
  mounts = [
    { sourceVolume = "data", containerPath = "/var/lib/salon", readOnly = false },
    { sourceVolume = "tmp", containerPath = "/tmp", readOnly = false },
  ]

  container_base = {
    image                  = var.image
    essential              = true
    readonlyRootFilesystem = true
    user                   = "10001:10001"
    environment            = local.environment
    secrets                = local.secrets
    mountPoints            = local.mounts
    linuxParameters        = { initProcessEnabled = true }
  }
}

# --- Certificate ---

resource "aws_acm_certificate" "this" {
  count = var.certificate_arn == null ? 1 : 0

  domain_name       = var.domain_name
  validation_method = "DNS"
  tags              = local.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_route53_record" "validation" {
  # Keyed by the (known) domain name, not by the validation options (known only after apply).
  for_each = var.certificate_arn == null ? toset([var.domain_name]) : toset([])

  zone_id         = var.route53_zone_id
  name            = one([for o in aws_acm_certificate.this[0].domain_validation_options : o.resource_record_name if o.domain_name == each.key])
  type            = one([for o in aws_acm_certificate.this[0].domain_validation_options : o.resource_record_type if o.domain_name == each.key])
  records         = [one([for o in aws_acm_certificate.this[0].domain_validation_options : o.resource_record_value if o.domain_name == each.key])]
  ttl             = 300
  allow_overwrite = true
}

resource "aws_acm_certificate_validation" "this" {
  count = var.certificate_arn == null ? 1 : 0

  certificate_arn         = aws_acm_certificate.this[0].arn
  validation_record_fqdns = [for r in aws_route53_record.validation : r.fqdn]
}

# --- Load balancer ---

resource "aws_security_group" "lb" {
  name        = "${var.name}-alb"
  description = "Salon load balancer: HTTPS in, to the web tasks out"
  vpc_id      = var.vpc_id
  tags        = local.tags
}

resource "aws_vpc_security_group_ingress_rule" "lb_https" {
  for_each = toset(var.internal ? var.vpc_cidr_blocks : ["0.0.0.0/0"])

  security_group_id = aws_security_group.lb.id
  description       = "HTTPS from ${each.value}"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value
  tags              = local.tags
}

resource "aws_vpc_security_group_ingress_rule" "lb_http" {
  count = var.internal ? 0 : 1

  #checkov:skip=CKV_AWS_260:Port 80 only answers a 301 redirect to HTTPS (see aws_lb_listener.http).
  security_group_id = aws_security_group.lb.id
  description       = "HTTP from anywhere, redirected to HTTPS"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_ipv4         = "0.0.0.0/0"
  tags              = local.tags
}

resource "aws_vpc_security_group_egress_rule" "lb_to_tasks" {
  security_group_id            = aws_security_group.lb.id
  description                  = "To the web tasks"
  ip_protocol                  = "tcp"
  from_port                    = var.container_port
  to_port                      = var.container_port
  referenced_security_group_id = aws_security_group.task.id
  tags                         = local.tags
}

resource "aws_lb" "this" {
  #checkov:skip=CKV2_AWS_28:A WAF web ACL (~$6/month + per-request) is the operator's choice; attach one with aws_wafv2_web_acl_association using the load_balancer_arn output.
  #checkov:skip=CKV_AWS_91:Access logs are enabled by setting access_logs_bucket (a bucket with an ELB delivery policy); off by default to avoid the extra bucket.
  name                       = var.name
  internal                   = var.internal
  load_balancer_type         = "application"
  security_groups            = [aws_security_group.lb.id]
  subnets                    = var.lb_subnet_ids
  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection
  idle_timeout               = 120

  dynamic "access_logs" {
    for_each = var.access_logs_bucket == null ? [] : [var.access_logs_bucket]
    content {
      bucket  = access_logs.value
      prefix  = "alb/${var.name}"
      enabled = true
    }
  }

  tags = local.tags
}

resource "aws_lb_target_group" "this" {
  #checkov:skip=CKV_AWS_378:TLS ends at the ALB; ALB-to-task traffic stays inside the VPC, restricted by security groups.
  name                 = var.name
  port                 = var.container_port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = 30

  health_check {
    path                = var.health_check_path
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = local.tags
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = var.ssl_policy
  certificate_arn   = local.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this.arn
  }

  tags = local.tags
}

resource "aws_lb_listener" "http" {
  count = var.internal ? 0 : 1

  #checkov:skip=CKV_AWS_2:This listener only redirects to HTTPS.
  #checkov:skip=CKV_AWS_103:This listener only redirects to HTTPS; TLS settings live on the 443 listener.
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "redirect"
    redirect {
      protocol    = "HTTPS"
      port        = "443"
      status_code = "HTTP_301"
    }
  }

  tags = local.tags
}

resource "aws_route53_record" "alias" {
  count = var.create_dns_record ? 1 : 0

  zone_id = var.route53_zone_id
  name    = var.domain_name
  type    = "A"

  alias {
    name                   = aws_lb.this.dns_name
    zone_id                = aws_lb.this.zone_id
    evaluate_target_health = true
  }
}

# --- Tasks ---

resource "aws_security_group" "task" {
  name        = "${var.name}-tasks"
  description = "Salon web tasks: from the load balancer only"
  vpc_id      = var.vpc_id
  tags        = local.tags
}

resource "aws_vpc_security_group_ingress_rule" "task_from_lb" {
  security_group_id            = aws_security_group.task.id
  description                  = "salon serve from the load balancer"
  ip_protocol                  = "tcp"
  from_port                    = var.container_port
  to_port                      = var.container_port
  referenced_security_group_id = aws_security_group.lb.id
  tags                         = local.tags
}

resource "aws_vpc_security_group_egress_rule" "task_https" {
  #checkov:skip=CKV_AWS_382:Tasks call AWS APIs (through endpoints or NAT), Cognito's JWKS and image sources such as NASA APOD over HTTPS; their addresses are not fixed.
  security_group_id = aws_security_group.task.id
  description       = "HTTPS to AWS APIs and image sources"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
  tags              = local.tags
}

resource "aws_vpc_security_group_egress_rule" "task_postgres" {
  for_each = toset(var.vpc_cidr_blocks)

  security_group_id = aws_security_group.task.id
  description       = "PostgreSQL inside the VPC"
  ip_protocol       = "tcp"
  from_port         = 5432
  to_port           = 5432
  cidr_ipv4         = each.value
  tags              = local.tags
}

resource "aws_ecs_task_definition" "web" {
  family                   = "${var.name}-web"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu
  memory                   = var.memory
  execution_role_arn       = var.execution_role_arn
  task_role_arn            = var.task_role_arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  dynamic "volume" {
    for_each = local.volumes
    content {
      name = volume.value.name
    }
  }

  container_definitions = jsonencode([merge(local.container_base, {
    name         = "web"
    command      = ["salon", "serve", "--host", "0.0.0.0", "--port", tostring(var.container_port)]
    portMappings = [{ containerPort = var.container_port, protocol = "tcp" }]
    healthCheck = {
      command     = ["CMD", "python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:${var.container_port}/health', timeout=3)"]
      interval    = 15
      timeout     = 5
      retries     = 3
      startPeriod = 20
    }
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = var.log_group_name
        awslogs-region        = data.aws_region.current.name
        awslogs-stream-prefix = "web"
      }
    }
  })])

  tags = local.tags
}

# Run once per release, before rolling the services (`salon db upgrade`), and for every one-off
# command with deploy/tools/run-task.sh, which overrides the command.
resource "aws_ecs_task_definition" "migrate" {
  family                   = "${var.name}-migrate"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 256
  memory                   = 512
  execution_role_arn       = var.execution_role_arn
  task_role_arn            = coalesce(var.ops_task_role_arn, var.task_role_arn)

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  dynamic "volume" {
    for_each = local.volumes
    content {
      name = volume.value.name
    }
  }

  container_definitions = jsonencode([merge(local.container_base, {
    name    = "migrate"
    command = ["salon", "db", "upgrade"]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = var.migrate_log_group_name
        awslogs-region        = data.aws_region.current.name
        awslogs-stream-prefix = "migrate"
      }
    }
  })])

  tags = local.tags
}

resource "aws_ecs_service" "web" {
  name                               = "${var.name}-web"
  cluster                            = var.cluster_arn
  task_definition                    = aws_ecs_task_definition.web.arn
  desired_count                      = var.desired_count
  launch_type                        = "FARGATE"
  platform_version                   = "LATEST"
  health_check_grace_period_seconds  = 60
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  enable_execute_command             = false
  propagate_tags                     = "SERVICE"
  wait_for_steady_state              = false

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.task_subnet_ids
    security_groups  = [aws_security_group.task.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.this.arn
    container_name   = "web"
    container_port   = var.container_port
  }

  # Autoscaling owns the count after the first deploy; deploy/tools/release.sh owns the
  # revision in service (it copies the latest revision Terraform registered, with a new image).
  lifecycle {
    ignore_changes = [desired_count, task_definition]
  }

  depends_on = [aws_lb_listener.https]
  tags       = local.tags
}

resource "aws_appautoscaling_target" "web" {
  service_namespace  = "ecs"
  resource_id        = "service/${element(split("/", var.cluster_arn), 1)}/${aws_ecs_service.web.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.min_count
  max_capacity       = var.max_count
}

resource "aws_appautoscaling_policy" "web_cpu" {
  name               = "${var.name}-web-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.web.service_namespace
  resource_id        = aws_appautoscaling_target.web.resource_id
  scalable_dimension = aws_appautoscaling_target.web.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.cpu_target_percent
    scale_in_cooldown  = 300
    scale_out_cooldown = 60

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}
