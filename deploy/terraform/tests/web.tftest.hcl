# The web module under a mocked AWS provider: HTTPS listener, HTTP redirect, /health target
# check, circuit breaker with rollback.
mock_provider "aws" {
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
  mock_resource "aws_acm_certificate" {
    defaults = {
      arn = "arn:aws:acm:eu-west-1:123456789012:certificate/mock"
      domain_validation_options = [{
        domain_name           = "photos.example.com"
        resource_record_name  = "_x.photos.example.com."
        resource_record_type  = "CNAME"
        resource_record_value = "_y.acm-validations.aws."
      }]
    }
  }
  mock_resource "aws_lb" {
    defaults = { arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/salon-test/0123" }
  }
  mock_resource "aws_lb_target_group" {
    defaults = { arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/salon-test/0123" }
  }
  mock_resource "aws_acm_certificate_validation" {
    defaults = { certificate_arn = "arn:aws:acm:eu-west-1:123456789012:certificate/mock" }
  }
}

variables {
  name                   = "salon-test"
  vpc_id                 = "vpc-0123"
  vpc_cidr_blocks        = ["10.40.0.0/16"]
  lb_subnet_ids          = ["subnet-pa", "subnet-pb"]
  task_subnet_ids        = ["subnet-a", "subnet-b"]
  cluster_arn            = "arn:aws:ecs:eu-west-1:123456789012:cluster/salon-test"
  image                  = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/salon:abc123"
  execution_role_arn     = "arn:aws:iam::123456789012:role/exec"
  task_role_arn          = "arn:aws:iam::123456789012:role/web"
  log_group_name         = "/salon/salon-test/web"
  migrate_log_group_name = "/salon/salon-test/migrate"
  domain_name            = "photos.example.com"
  route53_zone_id        = "Z0123456789ABC"
  environment            = { SALON_STORAGE = "s3" }
  secrets                = { SALON_SECRET_KEY = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:key" }
}

run "https_only_with_rollback" {
  module {
    source = "./modules/web"
  }

  command = apply

  assert {
    condition     = aws_lb_listener.https.port == 443 && aws_lb_listener.https.protocol == "HTTPS" && aws_lb_listener.https.certificate_arn == "arn:aws:acm:eu-west-1:123456789012:certificate/mock"
    error_message = "The load balancer serves HTTPS on 443 with the validated ACM certificate."
  }

  assert {
    condition     = startswith(aws_lb_listener.https.ssl_policy, "ELBSecurityPolicy-TLS13")
    error_message = "The HTTPS listener uses a TLS 1.2+/1.3 policy."
  }

  assert {
    condition     = aws_lb_listener.http[0].port == 80 && aws_lb_listener.http[0].default_action[0].type == "redirect" && aws_lb_listener.http[0].default_action[0].redirect[0].protocol == "HTTPS"
    error_message = "Port 80 only redirects to HTTPS."
  }

  assert {
    condition     = aws_lb_target_group.this.health_check[0].path == "/health"
    error_message = "The load balancer probes the shallow /health: a dependency blip must not replace every task."
  }

  assert {
    condition     = aws_ecs_service.web.deployment_circuit_breaker[0].enable && aws_ecs_service.web.deployment_circuit_breaker[0].rollback
    error_message = "A failing deployment rolls back by itself."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.web.container_definitions)[0].command == ["salon", "serve", "--host", "0.0.0.0", "--port", "8000"]
    error_message = "The web service runs `salon serve` on 0.0.0.0:8000."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.migrate.container_definitions)[0].command == ["salon", "db", "upgrade"]
    error_message = "Migrations are their own one-off task definition."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.web.container_definitions)[0].readonlyRootFilesystem && jsondecode(aws_ecs_task_definition.web.container_definitions)[0].user == "10001:10001"
    error_message = "Containers run non-root on a read-only root filesystem."
  }

  assert {
    condition     = aws_route53_record.alias[0].name == "photos.example.com" && !aws_lb.this.internal && aws_lb.this.drop_invalid_header_fields
    error_message = "An internet-facing ALB answers for the domain."
  }
}

run "internal_for_api_gateway" {
  module {
    source = "./modules/web"
  }

  command = apply

  variables {
    internal          = true
    create_dns_record = false
  }

  assert {
    condition     = aws_lb.this.internal && length(aws_lb_listener.http) == 0 && length(aws_route53_record.alias) == 0
    error_message = "Behind API Gateway the ALB is internal, with no HTTP listener and no DNS record of its own."
  }

  assert {
    condition     = keys(aws_vpc_security_group_ingress_rule.lb_https) == ["10.40.0.0/16"]
    error_message = "The internal ALB accepts HTTPS only from inside the VPC."
  }
}

run "migrate_task_runs_under_the_ops_role" {
  module {
    source = "./modules/web"
  }

  command = apply

  variables {
    ops_task_role_arn = "arn:aws:iam::123456789012:role/ops"
  }

  assert {
    condition     = aws_ecs_task_definition.migrate.task_role_arn == "arn:aws:iam::123456789012:role/ops" && aws_ecs_task_definition.web.task_role_arn == "arn:aws:iam::123456789012:role/web"
    error_message = "One-off commands run under the ops role; the web service keeps its own."
  }
}
