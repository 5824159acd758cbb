variable "region" {
  description = "AWS region of the whole stack."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region code such as eu-west-1."
  }
}

variable "name" {
  description = "Short name of this deployment; prefixes every resource (e.g. salon-prod)."
  type        = string
  default     = "salon-prod"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,18}$", var.name))
    error_message = "name must be 2-19 lower-case letters, digits or hyphens, starting with a letter."
  }
}

variable "domain_name" {
  description = "Public host name of the gallery, e.g. photos.example.com."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9-]+\\.)+[a-z]{2,}$", var.domain_name))
    error_message = "domain_name must be a lower-case DNS name."
  }
}

variable "route53_zone_id" {
  description = "ID of the public Route 53 hosted zone that holds domain_name."
  type        = string

  validation {
    condition     = can(regex("^Z[A-Z0-9]+$", var.route53_zone_id))
    error_message = "route53_zone_id must be a hosted zone ID such as Z0123456789ABC."
  }
}

variable "image_tag" {
  description = "The Salon image in the stack's ECR repository: a tag (CI pushes <git sha>) or, to pin the exact bytes, its digest sha256:<64 hex> (deploy/tools/release.sh resolves a tag to one)."
  type        = string

  validation {
    condition     = (can(regex("^[A-Za-z0-9_.-]{1,128}$", var.image_tag)) && var.image_tag != "latest") || can(regex("^sha256:[0-9a-f]{64}$", var.image_tag))
    error_message = "image_tag must be a concrete tag (not \"latest\": tags are immutable and rollbacks name the previous one) or a digest sha256:<64 lower-case hex digits>."
  }
}

variable "entry_point" {
  description = "\"alb\": internet-facing ALB in front of the web service. \"api_gateway\": API Gateway HTTP API with a Cognito JWT authorizer, reaching an internal ALB through a VPC link."
  type        = string
  default     = "alb"

  validation {
    condition     = contains(["alb", "api_gateway"], var.entry_point)
    error_message = "entry_point must be \"alb\" or \"api_gateway\"."
  }
}

variable "vpc_cidr" {
  description = "Primary CIDR of the VPC."
  type        = string
  default     = "10.40.0.0/16"
}

variable "secondary_cidr_block" {
  description = "Optional secondary CIDR (e.g. 100.64.0.0/16) whose subnets hold the ECS tasks."
  type        = string
  default     = null
}

variable "nat_mode" {
  description = "gateway (one NAT gateway per AZ), single_gateway, instance (cheapest) or none."
  type        = string
  default     = "gateway"
}

variable "vpc_interface_endpoints" {
  description = "AWS services reached through interface VPC endpoints (~$8/month per service per AZ); [] sends that traffic through the NAT instead."
  type        = list(string)
  default     = ["ecr.api", "ecr.dkr", "sqs", "logs", "secretsmanager"]
}

variable "bucket_name" {
  description = "Globally unique name of the media bucket; null uses <name>-media-<account id>."
  type        = string
  default     = null
}

variable "s3_prefix" {
  description = "Key prefix inside the bucket (SALON_S3_PREFIX); empty or ending in \"/\"."
  type        = string
  default     = ""
}

variable "cloudfront_enabled" {
  description = "Serve renditions through CloudFront with signed URLs (needs cloudfront_public_keys and cloudfront_private_key_secret_arn)."
  type        = bool
  default     = false
}

variable "cloudfront_public_keys" {
  description = "PEM public keys the distribution trusts, by name; the private half of cloudfront_signing_key's is in cloudfront_private_key_secret_arn (see deploy/README.md, rotation included)."
  type        = map(string)
  default     = {}

  validation {
    condition     = !var.cloudfront_enabled || length(var.cloudfront_public_keys) > 0
    error_message = "cloudfront_enabled needs cloudfront_public_keys."
  }
}

variable "cloudfront_signing_key" {
  description = "The name in cloudfront_public_keys Salon signs with (SALON_S3_CLOUDFRONT_KEY_ID is its id); null means the only one."
  type        = string
  default     = null

  validation {
    condition     = var.cloudfront_signing_key == null || contains(keys(var.cloudfront_public_keys), coalesce(var.cloudfront_signing_key, "-"))
    error_message = "cloudfront_signing_key must be one of the names in cloudfront_public_keys."
  }
}

variable "cloudfront_private_key_secret_arn" {
  description = "Secrets Manager secret holding the matching PEM private key (SALON_S3_CLOUDFRONT_PRIVATE_KEY)."
  type        = string
  default     = null

  validation {
    condition     = !var.cloudfront_enabled || can(regex("^arn:aws[a-z-]*:secretsmanager:", var.cloudfront_private_key_secret_arn))
    error_message = "cloudfront_enabled needs cloudfront_private_key_secret_arn, the ARN of a Secrets Manager secret."
  }
}

variable "max_upload_bytes" {
  description = "Largest accepted upload (SALON_MAX_UPLOAD_BYTES)."
  type        = number
  default     = 209715200

  validation {
    condition     = var.max_upload_bytes > 0
    error_message = "max_upload_bytes must be positive."
  }
}

variable "web_cpu" {
  description = "Fargate CPU units per web task."
  type        = number
  default     = 512
}

variable "web_memory" {
  description = "Memory (MiB) per web task."
  type        = number
  default     = 1024
}

variable "web_min_count" {
  description = "Fewest web tasks."
  type        = number
  default     = 2
}

variable "web_max_count" {
  description = "Most web tasks."
  type        = number
  default     = 6
}

variable "worker_max_count" {
  description = "Most worker tasks (it scales to zero when idle)."
  type        = number
  default     = 10
}

variable "worker_use_spot" {
  description = "Run workers on FARGATE_SPOT."
  type        = bool
  default     = true
}

variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t4g.micro"
}

variable "db_multi_az" {
  description = "Multi-AZ standby for the database."
  type        = bool
  default     = true
}

variable "generate_secrets" {
  description = "Let Secrets Manager generate the database password and SALON_SECRET_KEY (true), or take db_password and secret_key (false)."
  type        = bool
  default     = true
}

variable "db_password" {
  description = "Database master password when generate_secrets = false (ephemeral, never stored in state)."
  type        = string
  default     = null
  ephemeral   = true
  sensitive   = true
}

variable "db_password_version" {
  description = "Bump to rotate the database password (and the SALON_DATABASE_URL secret)."
  type        = number
  default     = 1
}

variable "secret_key" {
  description = "SALON_SECRET_KEY when generate_secrets = false (ephemeral, never stored in state)."
  type        = string
  default     = null
  ephemeral   = true
  sensitive   = true
}

variable "secret_key_version" {
  description = "Bump to rotate SALON_SECRET_KEY (signs media URLs and Salon's own cookies, which rotation ends; Cognito sign-ins are not affected)."
  type        = number
  default     = 1
}

variable "apod_api_key_secret_arn" {
  description = "Optional Secrets Manager secret holding a NASA API key (SALON_APOD_API_KEY); null keeps APOD's DEMO_KEY."
  type        = string
  default     = null
}

variable "log_retention_days" {
  description = "Retention of the application log groups."
  type        = number
  default     = 30
}

variable "alarm_email" {
  description = "E-mail address subscribed to the alarm topic (queue DLQ, oldest message); null: no subscription."
  type        = string
  default     = null
}

variable "protect_data" {
  description = "Deletion protection on the database, user pool and load balancer; final DB snapshot. Turn off only to destroy a test stack."
  type        = bool
  default     = true
}

variable "log_level" {
  description = "Salon log level (SALON_LOG_LEVEL)."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}

variable "tags" {
  description = "Extra tags on every resource (cost centre, owner, ...)."
  type        = map(string)
  default     = {}
}

variable "allow_self_signup" {
  description = "Whether people can sign themselves up. false: administrators create accounts and the sign-up page says sign-up is closed."
  type        = bool
  default     = true
}

variable "ses_email_identity_arn" {
  description = "Verified SES identity for Cognito's mail (see deploy/README.md). null keeps Cognito's built-in sender, which is limited to testing volumes."
  type        = string
  default     = null
}

variable "ses_from_address" {
  description = "From address for Cognito's mail through SES."
  type        = string
  default     = null

  validation {
    condition     = var.ses_email_identity_arn == null || var.ses_from_address != null
    error_message = "ses_email_identity_arn needs ses_from_address (an address of the verified identity)."
  }
}

variable "ses_configuration_set" {
  description = "Optional SES configuration set for Cognito's mail."
  type        = string
  default     = null
}
