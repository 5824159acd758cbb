variable "name" {
  description = "Identifier of the RDS instance and prefix of its companions."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,50}$", var.name))
    error_message = "name must start with a letter and hold lower-case letters, digits and hyphens."
  }
}

variable "vpc_id" {
  description = "VPC of the database."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets (two AZs at least) for the DB subnet group."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "subnet_ids needs at least two subnets in different AZs."
  }
}

variable "client_security_group_ids" {
  description = "Security groups (the ECS tasks) allowed to connect on 5432."
  type        = list(string)
}

variable "engine_version" {
  description = "PostgreSQL major version. Minor versions are applied by RDS (auto_minor_version_upgrade), so a pinned minor would make every later plan try to downgrade."
  type        = string
  default     = "16"

  validation {
    condition     = can(regex("^1[4-7]$", var.engine_version))
    error_message = "engine_version must be a PostgreSQL major version from 14 to 17 (no minor: RDS applies minor upgrades itself)."
  }
}

variable "instance_class" {
  description = "RDS instance class; db.t4g.micro is the smallest that runs Salon comfortably."
  type        = string
  default     = "db.t4g.micro"

  validation {
    condition     = startswith(var.instance_class, "db.")
    error_message = "instance_class must be an RDS class such as db.t4g.micro."
  }
}

variable "allocated_storage_gb" {
  description = "Initial gp3 storage, in GiB; it grows automatically up to max_allocated_storage_gb."
  type        = number
  default     = 20

  validation {
    condition     = var.allocated_storage_gb >= 20
    error_message = "allocated_storage_gb must be at least 20."
  }
}

variable "max_allocated_storage_gb" {
  description = "Storage autoscaling ceiling, in GiB."
  type        = number
  default     = 100
}

variable "multi_az" {
  description = "Standby in a second AZ (automatic failover; doubles the instance cost)."
  type        = bool
  default     = true
}

variable "backup_retention_days" {
  description = "Days of automated backups (point-in-time recovery window)."
  type        = number
  default     = 14

  validation {
    condition     = var.backup_retention_days >= 1 && var.backup_retention_days <= 35
    error_message = "backup_retention_days must be between 1 and 35."
  }
}

variable "database_name" {
  description = "Name of the database Salon uses."
  type        = string
  default     = "salon"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.database_name))
    error_message = "database_name must be a lower-case PostgreSQL identifier."
  }
}

variable "username" {
  description = "Master user name."
  type        = string
  default     = "salon"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,15}$", var.username)) && !contains(["postgres", "admin", "rdsadmin"], var.username)
    error_message = "username must be a lower-case identifier of at most 16 characters and not a reserved name."
  }
}

variable "master_password" {
  description = "Master password (ephemeral: never stored; e.g. from the ephemeral aws_secretsmanager_random_password). Sent only when password_version changes."
  type        = string
  ephemeral   = true
  sensitive   = true

  validation {
    condition     = can(regex("^[^/@\"\\s]{16,128}$", var.master_password))
    error_message = "master_password must be 16-128 characters without /, @, \" or spaces (RDS rules)."
  }
}

variable "password_version" {
  description = "Bump to generate a new password (rotation): the password is write-only and never stored in Terraform state."
  type        = number
  default     = 1
}

variable "kms_key_arn" {
  description = "KMS key for storage, Performance Insights and the connection secret."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "deletion_protection" {
  description = "Refuse to delete the instance; turn off only to tear a stack down."
  type        = bool
  default     = true
}

variable "skip_final_snapshot" {
  description = "Destroy without a final snapshot (test stacks only)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
