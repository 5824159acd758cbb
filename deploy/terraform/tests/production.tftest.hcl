# The whole production example under a mocked AWS provider, with both entry points. Checks
# the wiring between modules: what the containers receive, which resources exist per mode.
mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
  mock_data "aws_availability_zones" {
    defaults = { names = ["eu-west-1a", "eu-west-1b", "eu-west-1c"] }
  }
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:eu-west-1:123456789012:key/mock" }
  }
  mock_resource "aws_s3_bucket" {
    defaults = { arn = "arn:aws:s3:::salon-prod-media-123456789012", id = "salon-prod-media-123456789012" }
  }
  mock_resource "aws_sqs_queue" {
    defaults = { arn = "arn:aws:sqs:eu-west-1:123456789012:salon-prod-jobs", id = "https://sqs.eu-west-1.amazonaws.com/123456789012/salon-prod-jobs", url = "https://sqs.eu-west-1.amazonaws.com/123456789012/salon-prod-jobs" }
  }
  mock_resource "aws_secretsmanager_secret" {
    defaults = { arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mock" }
  }
  mock_resource "aws_ecs_cluster" {
    defaults = { arn = "arn:aws:ecs:eu-west-1:123456789012:cluster/salon-prod" }
  }
  mock_resource "aws_ecr_repository" {
    defaults = { repository_url = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/salon-prod", arn = "arn:aws:ecr:eu-west-1:123456789012:repository/salon-prod" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/salon/mock" }
  }
  mock_resource "aws_lb" {
    defaults = { arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/salon-prod/0123" }
  }
  mock_resource "aws_lb_target_group" {
    defaults = { arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/salon-prod/0123" }
  }
  mock_resource "aws_lb_listener" {
    defaults = { arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/salon-prod/0123/4567" }
  }
  mock_resource "aws_sns_topic" {
    defaults = { arn = "arn:aws:sns:eu-west-1:123456789012:salon-prod-alarms" }
  }
  mock_resource "aws_appautoscaling_policy" {
    defaults = { arn = "arn:aws:autoscaling:eu-west-1:123456789012:scalingPolicy:mock:resource/ecs/service/salon-prod/x:policyName/mock" }
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
  mock_resource "aws_acm_certificate_validation" {
    defaults = { certificate_arn = "arn:aws:acm:eu-west-1:123456789012:certificate/mock" }
  }
  mock_resource "aws_cognito_user_pool" {
    defaults = { id = "eu-west-1_Mock", endpoint = "cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Mock" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/mock" }
  }
}

variables {
  domain_name     = "photos.example.com"
  route53_zone_id = "Z0123456789ABC"
  image_tag       = "abc1234"

  generate_secrets = false
  db_password      = "test-only-password-0123456789"
  secret_key       = "test-only-secret-key-0123456789abcdef"
}

# Mock providers cannot mock ephemeral resources, so the two generated secrets come from a
# real provider configured to reach nothing (and never used: generate_secrets = false).
provider "aws" {
  alias                       = "secrets"
  region                      = "eu-west-1"
  access_key                  = "offline"
  secret_key                  = "offline"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}

run "alb_entry_point" {
  module {
    source = "./examples/production"
  }

  command = apply

  assert {
    condition = alltrue([
      for k, v in {
        SALON_STORAGE       = "s3", SALON_AUTH = "cognito", SALON_QUEUE = "sqs",
        SALON_PUBLIC_URL    = "https://photos.example.com", SALON_INPROCESS_WORKER = "false",
        SALON_S3_BUCKET     = "salon-prod-media-123456789012", SALON_COGNITO_USER_POOL_ID = "eu-west-1_Mock",
        SALON_SQS_QUEUE_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/salon-prod-jobs",
      } : local.app_environment[k] == v
    ])
    error_message = "Production selects s3, cognito and sqs and hands the containers their resources."
  }

  assert {
    condition     = keys(local.app_secrets) == ["SALON_DATABASE_URL", "SALON_SECRET_KEY"] && alltrue([for v in values(local.app_secrets) : startswith(v, "arn:aws:secretsmanager:")])
    error_message = "The database URL and the secret key come from Secrets Manager."
  }

  assert {
    condition     = local.app_environment["SALON_S3_CLOUDFRONT_DOMAIN"] == "" && local.app_environment["SALON_S3_CLOUDFRONT_KEY_ID"] == ""
    error_message = "Without CloudFront, renditions stay presigned S3 URLs (empty CloudFront settings)."
  }

  assert {
    condition     = length(setintersection(output.container_environment_names, output.container_secret_names)) == 0
    error_message = "No setting is given both as plain environment and as a secret."
  }

  assert {
    condition     = length(module.api_gateway) == 0
    error_message = "The ALB entry point creates no API Gateway."
  }

  assert {
    condition     = output.url == "https://photos.example.com"
    error_message = "The gallery answers on its domain over HTTPS."
  }
}

run "api_gateway_entry_point_with_secondary_cidr" {
  module {
    source = "./examples/production"
  }

  command = apply

  variables {
    entry_point          = "api_gateway"
    secondary_cidr_block = "100.64.0.0/16"
    nat_mode             = "instance"
    cloudfront_enabled   = true
    cloudfront_public_keys = {
      "2026-12" = <<-EOT
        -----BEGIN PUBLIC KEY-----
        MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtestkey
        -----END PUBLIC KEY-----
      EOT
      "2027-06" = <<-EOT
        -----BEGIN PUBLIC KEY-----
        MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAnewkey
        -----END PUBLIC KEY-----
      EOT
    }
    cloudfront_signing_key            = "2027-06"
    cloudfront_private_key_secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:salon-cloudfront-key-AbCdEf"
  }

  assert {
    condition     = local.app_environment["SALON_S3_CLOUDFRONT_DOMAIN"] == module.storage.cloudfront_domain_name && local.app_environment["SALON_S3_CLOUDFRONT_KEY_ID"] == module.storage.cloudfront_key_id && module.storage.cloudfront_key_id != null
    error_message = "With CloudFront on, the tasks learn the distribution's domain and the key id their signed URLs name."
  }

  assert {
    condition     = local.app_secrets["SALON_S3_CLOUDFRONT_PRIVATE_KEY"] == "arn:aws:secretsmanager:eu-west-1:123456789012:secret:salon-cloudfront-key-AbCdEf"
    error_message = "The signing key reaches the tasks from Secrets Manager, never as plain environment."
  }

  assert {
    condition     = length(module.api_gateway) == 1 && output.api_gateway_id != null
    error_message = "entry_point = api_gateway builds the HTTP API."
  }

  assert {
    condition     = length(module.api_gateway[0].jwt_protected_routes) == 0
    error_message = "No route the browser UI calls may sit behind a header-only JWT authorizer: its token is in a cookie, and Salon checks it."
  }

  assert {
    condition     = jsondecode(output.migrate_run_task_network).awsvpcConfiguration.assignPublicIp == "DISABLED"
    error_message = "The migration task runs in private subnets."
  }
}

run "cloudfront_needs_its_key_pair" {
  module {
    source = "./examples/production"
  }

  command = plan

  variables {
    cloudfront_enabled = true
  }

  expect_failures = [var.cloudfront_public_keys, var.cloudfront_private_key_secret_arn]
}

run "cloudfront_signing_key_must_be_one_of_the_keys" {
  module {
    source = "./examples/production"
  }

  command = plan

  variables {
    cloudfront_public_keys = {
      "2026-12" = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
    }
    cloudfront_signing_key = "2027-06"
  }

  expect_failures = [var.cloudfront_signing_key]
}

run "rejects_latest_tag" {
  module {
    source = "./examples/production"
  }

  command = plan

  variables {
    image_tag = "latest"
  }

  expect_failures = [var.image_tag]
}

run "rejects_malformed_digest" {
  module {
    source = "./examples/production"
  }

  command = plan

  variables {
    image_tag = "sha256:ABC"
  }

  expect_failures = [var.image_tag]
}

run "digest_pins_the_image" {
  module {
    source = "./examples/production"
  }

  command = plan

  variables {
    image_tag = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  }

  assert {
    condition     = endswith(local.image, "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef") && !strcontains(local.image, ":sha256")
    error_message = "A digest image_tag gives repo@sha256:..., the immutable form ECS pulls by."
  }
}

run "tag_names_the_image" {
  module {
    source = "./examples/production"
  }

  command = plan

  assert {
    condition     = endswith(local.image, ":abc1234")
    error_message = "A tag image_tag gives repo:tag."
  }
}

run "alarm_topic_key_lets_cloudwatch_publish" {
  module {
    source = "./examples/production"
  }

  command = apply

  assert {
    condition     = aws_sns_topic.alarms.kms_master_key_id == aws_kms_key.this.arn
    error_message = "The alarm topic is encrypted with the stack's key: CloudWatch cannot use alias/aws/sns."
  }

  assert {
    condition = anytrue([
      for st in jsondecode(aws_kms_key.this.policy).Statement :
      st.Effect == "Allow" && contains(flatten([try(st.Principal.Service, [])]), "cloudwatch.amazonaws.com")
      && contains(flatten([st.Action]), "kms:GenerateDataKey*") && contains(flatten([st.Action]), "kms:Decrypt")
    ])
    error_message = "The key policy lets CloudWatch generate data keys and decrypt, so alarm notifications are delivered."
  }
}

run "closed_signup_and_ses_mail" {
  module {
    source = "./examples/production"
  }

  command = apply

  variables {
    allow_self_signup      = false
    ses_email_identity_arn = "arn:aws:ses:eu-west-1:123456789012:identity/example.com"
    ses_from_address       = "Salon <photos@example.com>"
    ses_configuration_set  = "salon-mail"
  }

  assert {
    condition     = module.auth.self_signup_allowed == false && local.app_environment["SALON_SIGNUP_ENABLED"] == "false"
    error_message = "Closing sign-up makes the pool admin-only and tells Salon, so its sign-up page says so."
  }

  assert {
    condition     = module.auth.email_sending_account == "DEVELOPER"
    error_message = "With an SES identity, Cognito sends its mail through SES, not its testing-volume sender."
  }
}

run "ses_identity_needs_a_from_address" {
  module {
    source = "./examples/production"
  }

  command = plan

  variables {
    ses_email_identity_arn = "arn:aws:ses:eu-west-1:123456789012:identity/example.com"
  }

  expect_failures = [var.ses_from_address]
}

run "one_off_commands_run_under_their_own_role" {
  module {
    source = "./examples/production"
  }

  command = apply

  assert {
    condition     = module.iam.task_role_names["ops"] == "salon-prod-ops-task" && module.web.migrate_task_role_arn == module.iam.ops_task_role_arn
    error_message = "The migrate task (and run-task.sh's commands) run under the ops role."
  }
}

run "alarms_page_on_what_users_feel" {
  module {
    source = "./examples/production"
  }

  command = apply

  assert {
    condition = toset(keys(module.monitoring.alarm_names)) == toset([
      "alb-target-5xx", "alb-5xx", "unhealthy-targets", "web-running-below-desired",
      "db-cpu", "db-free-storage", "db-connections",
    ])
    error_message = "Alarms cover ALB 5xx, unhealthy targets, web tasks below desired, and RDS CPU, storage and connections."
  }

  assert {
    condition = alltrue([
      for a in module.monitoring.alarm_names : startswith(a, "salon-prod-")
    ]) && module.monitoring.dashboard_name == "salon-prod"
    error_message = "Alarms and the dashboard are named after the deployment."
  }
}
