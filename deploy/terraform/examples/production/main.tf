# Salon in production on AWS: the web service and the worker on ECS Fargate (one image),
# S3 for media, SQS for jobs, Cognito for users, RDS PostgreSQL for metadata.
# The README in deploy/ explains each variable, the first apply and every release after it.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  api_gateway = var.entry_point == "api_gateway"
  bucket_name = coalesce(var.bucket_name, "${var.name}-media-${data.aws_caller_identity.current.account_id}")
  # A digest pins the image immutably (repo@sha256:...); a tag is repo:tag.
  image      = startswith(var.image_tag, "sha256:") ? "${module.ecr.repository_url}@${var.image_tag}" : "${module.ecr.repository_url}:${var.image_tag}"
  public_url = "https://${var.domain_name}"
  tags = merge(var.tags, {
    "salon:deployment" = var.name
    "managed-by"       = "terraform"
  })

  # What the containers receive. Every SALON_* name here is a Salon setting (a test compares
  # them with salon.settings.CoreSettings and the plugins' settings types). Secrets never
  # appear here: they are in app_secrets, injected by ECS from Secrets Manager.
  # SALON_INTERNAL_ALLOW: who reads /metrics and /ready's details (requests the ALB relays
  # carry X-Forwarded-For and never count as internal).
  app_environment = {
    SALON_STORAGE    = "s3"
    SALON_AUTH       = "cognito"
    SALON_QUEUE      = "sqs"
    SALON_PUBLIC_URL = local.public_url
    # The load balancer's nodes have addresses in the VPC: only their X-Forwarded-For/-Proto
    # are honoured, so rate limits count per real client.
    SALON_TRUSTED_PROXIES  = join(",", module.network.vpc_cidr_blocks)
    SALON_DATA_DIR         = "/var/lib/salon"
    SALON_MAX_UPLOAD_BYTES = tostring(var.max_upload_bytes)
    SALON_INPROCESS_WORKER = "false"
    SALON_LOG_LEVEL        = var.log_level
    SALON_LOG_FORMAT       = "json"
    # The database URL asks for ssl=verify-full: asyncpg checks RDS's certificate and host name
    # against Amazon's RDS CA bundle, which the image carries at this path.
    PGSSLROOTCERT              = "/opt/rds-ca/global-bundle.pem"
    SALON_SIGNUP_ENABLED       = tostring(var.allow_self_signup)
    SALON_INTERNAL_ALLOW       = join(",", concat(["127.0.0.0/8", "::1/128"], module.network.vpc_cidr_blocks))
    SALON_S3_BUCKET            = module.storage.bucket_name
    SALON_S3_PREFIX            = var.s3_prefix
    SALON_S3_SSE               = "aws:kms"
    SALON_S3_KMS_KEY_ID        = aws_kms_key.this.arn
    SALON_SQS_QUEUE_URL        = module.queue.queue_url
    SALON_SQS_LONG_QUEUE_URL   = module.queue.long_queue_url
    SALON_SQS_MAX_RECEIVES     = tostring(module.queue.max_receive_count)
    SALON_COGNITO_USER_POOL_ID = module.auth.user_pool_id
    SALON_COGNITO_CLIENT_ID    = module.auth.client_id
    SALON_COGNITO_REGION       = var.region
    AWS_REGION                 = var.region
    # Rendition URLs as CloudFront signed URLs (the private key is in app_secrets); empty
    # strings leave them presigned S3 URLs.
    SALON_S3_CLOUDFRONT_DOMAIN = var.cloudfront_enabled ? module.storage.cloudfront_domain_name : ""
    SALON_S3_CLOUDFRONT_KEY_ID = var.cloudfront_enabled ? module.storage.cloudfront_key_id : ""
  }

  app_secrets = merge(
    {
      SALON_DATABASE_URL = module.database.database_url_secret_arn
      SALON_SECRET_KEY   = module.secret_key.secret_arn
    },
    var.apod_api_key_secret_arn == null ? {} : { SALON_APOD_API_KEY = var.apod_api_key_secret_arn },
    var.cloudfront_enabled ? { SALON_S3_CLOUDFRONT_PRIVATE_KEY = var.cloudfront_private_key_secret_arn } : {},
  )
}

# --- One customer-managed key for logs, bucket, database, secrets and images. ---

resource "aws_kms_key" "this" {
  description             = "Salon ${var.name}: media, logs, database, secrets, images"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat([
      {
        Sid       = "AccountAdministersAndDelegatesToIam"
        Effect    = "Allow"
        Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "CloudWatchLogsEncryptsOurGroups"
        Effect    = "Allow"
        Principal = { Service = "logs.${var.region}.amazonaws.com" }
        Action    = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
        Condition = {
          ArnLike = { "kms:EncryptionContext:aws:logs:arn" = "arn:${data.aws_partition.current.partition}:logs:${var.region}:${data.aws_caller_identity.current.account_id}:log-group:/salon/*" }
        }
      },
      {
        # Alarm mail: CloudWatch (and EventBridge, for scheduled-task failures) publish to the
        # encrypted alarm topic. The AWS-managed alias/aws/sns key cannot grant them this, so
        # alarms sent to a topic under it are dropped without a trace.
        Sid       = "AlarmPublishersUseTheTopicKey"
        Effect    = "Allow"
        Principal = { Service = ["cloudwatch.amazonaws.com", "events.amazonaws.com"] }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
        Condition = { StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id } }
      },
      ], var.cloudfront_enabled ? [{
        Sid       = "CloudFrontReadsRenditions"
        Effect    = "Allow"
        Principal = { Service = "cloudfront.amazonaws.com" }
        Action    = ["kms:Decrypt"]
        Resource  = "*"
        Condition = { StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id } }
    }] : [])
  })
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}

# --- Alarm topic ---

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-alarms"
  kms_master_key_id = aws_kms_key.this.arn
}

resource "aws_sns_topic_subscription" "alarm_email" {
  count = var.alarm_email == null ? 0 : 1

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

# --- Generated secrets: made by Secrets Manager as ephemeral values and written write-only,
# so neither the database password nor SALON_SECRET_KEY is ever in a plan or in the state.
# They use the aws.secrets provider (the same account and region) so that `terraform test`
# can mock every other resource: mock providers cannot mock ephemeral resources yet.

ephemeral "aws_secretsmanager_random_password" "db" {
  count    = var.generate_secrets ? 1 : 0
  provider = aws.secrets

  password_length     = 40
  exclude_punctuation = true
}

ephemeral "aws_secretsmanager_random_password" "secret_key" {
  count    = var.generate_secrets ? 1 : 0
  provider = aws.secrets

  password_length     = 64
  exclude_punctuation = true
}

locals {
  db_password = var.generate_secrets ? ephemeral.aws_secretsmanager_random_password.db[0].random_password : var.db_password
  secret_key  = var.generate_secrets ? ephemeral.aws_secretsmanager_random_password.secret_key[0].random_password : var.secret_key
}

module "secret_key" {
  source = "../../modules/app-secret"

  name          = "${var.name}/secret-key"
  description   = "SALON_SECRET_KEY (signs sessions and share links)"
  kms_key_arn   = aws_kms_key.this.arn
  value         = local.secret_key
  value_version = var.secret_key_version
  tags          = local.tags
}

# --- Modules ---

module "network" {
  source = "../../modules/network"

  name                 = var.name
  cidr_block           = var.vpc_cidr
  secondary_cidr_block = var.secondary_cidr_block
  nat_mode             = var.nat_mode
  interface_endpoints  = var.vpc_interface_endpoints
  kms_key_arn          = aws_kms_key.this.arn
  tags                 = local.tags
}

module "logs" {
  source = "../../modules/logs"

  name              = var.name
  streams           = ["web", "worker", "migrate"]
  retention_in_days = var.log_retention_days
  kms_key_arn       = aws_kms_key.this.arn
  tags              = local.tags
}

module "ecr" {
  source = "../../modules/ecr"

  name        = var.name
  kms_key_arn = aws_kms_key.this.arn
  tags        = local.tags
}

module "cluster" {
  source = "../../modules/cluster"

  name = var.name
  tags = local.tags
}

module "queue" {
  source = "../../modules/queue"

  name                  = "${var.name}-jobs"
  s3_source_bucket_arns = ["arn:${data.aws_partition.current.partition}:s3:::${local.bucket_name}"]
  alarm_actions         = [aws_sns_topic.alarms.arn]
  tags                  = local.tags
}

module "storage" {
  source = "../../modules/storage"

  bucket_name            = local.bucket_name
  key_prefix             = var.s3_prefix
  cors_allowed_origins   = [local.public_url]
  kms_key_arn            = aws_kms_key.this.arn
  notification_queue_arn = module.queue.notification_queue_arn
  cloudfront_enabled     = var.cloudfront_enabled
  cloudfront_public_keys = var.cloudfront_public_keys
  cloudfront_signing_key = var.cloudfront_signing_key
  tags                   = local.tags
}

module "auth" {
  source = "../../modules/auth"

  name                   = var.name
  deletion_protection    = var.protect_data
  allow_self_signup      = var.allow_self_signup
  ses_email_identity_arn = var.ses_email_identity_arn
  ses_from_address       = var.ses_from_address
  ses_configuration_set  = var.ses_configuration_set
  tags                   = local.tags
}

module "database" {
  source = "../../modules/database"

  name                      = var.name
  vpc_id                    = module.network.vpc_id
  subnet_ids                = module.network.private_subnet_ids
  client_security_group_ids = [module.web.task_security_group_id, module.worker.task_security_group_id]
  instance_class            = var.db_instance_class
  multi_az                  = var.db_multi_az
  master_password           = local.db_password
  password_version          = var.db_password_version
  kms_key_arn               = aws_kms_key.this.arn
  deletion_protection       = var.protect_data
  skip_final_snapshot       = !var.protect_data
  tags                      = local.tags
}

module "iam" {
  source = "../../modules/iam"

  name               = var.name
  bucket_arn         = module.storage.bucket_arn
  key_prefix         = var.s3_prefix
  queue_arn          = module.queue.queue_arn
  long_queue_arn     = module.queue.long_queue_arn
  dlq_arn            = module.queue.dlq_arn
  kms_key_arn        = aws_kms_key.this.arn
  secret_arns        = values(local.app_secrets)
  log_group_arns     = values(module.logs.log_group_arns)
  ecr_repository_arn = module.ecr.repository_arn
  tags               = local.tags
}

module "web" {
  source = "../../modules/web"

  name                   = var.name
  vpc_id                 = module.network.vpc_id
  vpc_cidr_blocks        = module.network.vpc_cidr_blocks
  internal               = local.api_gateway
  lb_subnet_ids          = local.api_gateway ? module.network.private_subnet_ids : module.network.public_subnet_ids
  task_subnet_ids        = module.network.workload_subnet_ids
  cluster_arn            = module.cluster.cluster_arn
  image                  = local.image
  cpu                    = var.web_cpu
  memory                 = var.web_memory
  min_count              = var.web_min_count
  desired_count          = var.web_min_count
  max_count              = var.web_max_count
  environment            = local.app_environment
  secrets                = local.app_secrets
  execution_role_arn     = module.iam.execution_role_arn
  task_role_arn          = module.iam.web_task_role_arn
  ops_task_role_arn      = module.iam.ops_task_role_arn
  log_group_name         = module.logs.log_group_names["web"]
  migrate_log_group_name = module.logs.log_group_names["migrate"]
  domain_name            = var.domain_name
  route53_zone_id        = var.route53_zone_id
  create_dns_record      = !local.api_gateway
  deletion_protection    = var.protect_data
  tags                   = local.tags
}

module "worker" {
  source = "../../modules/worker"

  name               = var.name
  vpc_id             = module.network.vpc_id
  vpc_cidr_blocks    = module.network.vpc_cidr_blocks
  task_subnet_ids    = module.network.workload_subnet_ids
  cluster_arn        = module.cluster.cluster_arn
  image              = local.image
  queue_name         = module.queue.queue_name
  long_queue_name    = module.queue.long_queue_name
  max_count          = var.worker_max_count
  use_spot           = var.worker_use_spot
  environment        = local.app_environment
  secrets            = local.app_secrets
  execution_role_arn = module.iam.execution_role_arn
  task_role_arn      = module.iam.worker_task_role_arn
  log_group_name     = module.logs.log_group_names["worker"]
  tags               = local.tags
}

module "monitoring" {
  source = "../../modules/monitoring"

  name                     = var.name
  alarm_topic_arn          = aws_sns_topic.alarms.arn
  load_balancer_arn_suffix = module.web.load_balancer_arn_suffix
  target_group_arn_suffix  = module.web.target_group_arn_suffix
  cluster_name             = module.cluster.cluster_name
  web_service_name         = module.web.service_name
  web_min_count            = var.web_min_count
  worker_service_name      = module.worker.service_name
  queue_name               = module.queue.queue_name
  long_queue_name          = module.queue.long_queue_name
  dlq_name                 = module.queue.dlq_name
  db_instance_id           = module.database.instance_id
  tags                     = local.tags
}

module "api_gateway" {
  source = "../../modules/api-gateway"
  count  = local.api_gateway ? 1 : 0

  name                            = var.name
  vpc_id                          = module.network.vpc_id
  subnet_ids                      = module.network.private_subnet_ids
  listener_arn                    = module.web.https_listener_arn
  load_balancer_security_group_id = module.web.load_balancer_security_group_id
  domain_name                     = var.domain_name
  certificate_arn                 = module.web.certificate_arn
  route53_zone_id                 = var.route53_zone_id
  jwt_issuer                      = module.auth.issuer
  jwt_audience                    = [module.auth.client_id]
  log_retention_days              = var.log_retention_days
  kms_key_arn                     = aws_kms_key.this.arn
  tags                            = local.tags
}
