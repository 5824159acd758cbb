# The application half of the production stack (S3, SQS, IAM), from the same modules, for
# host-mode LocalStack (`make localstack`, which runs S3, SQS, IAM and STS only). Differences from
# examples/production, each because LocalStack's community runtime lacks the service:
#   * SSE-S3 instead of SSE-KMS (no KMS), no CloudWatch alarms (no CloudWatch);
#   * the execution role names placeholder ARNs for the image, logs and secrets (no ECR, Logs or
#     Secrets Manager here);
#   * force_destroy, so a test can tear it down.
# Network, ECS, ALB, RDS and Cognito are not applied: LocalStack community has none of them
# (Cognito runs on moto server for local use, see deploy/README.md).

data "aws_caller_identity" "current" {}

locals {
  account     = data.aws_caller_identity.current.account_id
  bucket_name = "${var.name}-media"
}

module "queue" {
  source = "../../modules/queue"

  name                       = "${var.name}-jobs"
  visibility_timeout_seconds = 60
  s3_source_bucket_arns      = ["arn:aws:s3:::${local.bucket_name}"]
  alarms_enabled             = false
}

module "storage" {
  source = "../../modules/storage"

  bucket_name            = local.bucket_name
  key_prefix             = var.s3_prefix
  sse_algorithm          = "AES256"
  cors_allowed_origins   = [var.public_url]
  notification_queue_arn = module.queue.notification_queue_arn
  force_destroy          = true
}

module "iam" {
  source = "../../modules/iam"

  name               = var.name
  bucket_arn         = module.storage.bucket_arn
  key_prefix         = var.s3_prefix
  queue_arn          = module.queue.queue_arn
  long_queue_arn     = module.queue.long_queue_arn
  dlq_arn            = module.queue.dlq_arn
  secret_arns        = ["arn:aws:secretsmanager:${var.region}:${local.account}:secret:${var.name}/database-url"]
  log_group_arns     = ["arn:aws:logs:${var.region}:${local.account}:log-group:/salon/${var.name}/web"]
  ecr_repository_arn = "arn:aws:ecr:${var.region}:${local.account}:repository/${var.name}"
}
