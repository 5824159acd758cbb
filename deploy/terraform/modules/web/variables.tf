variable "name" {
  description = "Name prefix of the service, load balancer and task definitions."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,24}$", var.name))
    error_message = "name must be 2-25 lower-case letters, digits or hyphens (ALB names are short)."
  }
}

variable "vpc_id" {
  description = "VPC of the service."
  type        = string
}

variable "vpc_cidr_blocks" {
  description = "CIDRs of the VPC; an internal load balancer accepts HTTPS only from them."
  type        = list(string)
}

variable "internal" {
  description = "Make the load balancer internal (for the API Gateway entry point, reached through a VPC link) instead of internet-facing."
  type        = bool
  default     = false
}

variable "lb_subnet_ids" {
  description = "Subnets of the load balancer: public subnets when internet-facing, private ones when internal."
  type        = list(string)

  validation {
    condition     = length(var.lb_subnet_ids) >= 2
    error_message = "An ALB needs subnets in at least two AZs."
  }
}

variable "task_subnet_ids" {
  description = "Private (or secondary-CIDR workload) subnets of the tasks."
  type        = list(string)
}

variable "cluster_arn" {
  description = "ECS cluster the service runs in."
  type        = string
}

variable "image" {
  description = "Container image, repository:tag (tags are immutable)."
  type        = string

  validation {
    condition     = can(regex("^[^:@\\s]+(:[A-Za-z0-9_.-]+|@sha256:[a-f0-9]{64})$", var.image))
    error_message = "image must name a tag or digest, e.g. 1234.dkr.ecr.eu-west-1.amazonaws.com/salon:1.2.3; \"latest\" rollbacks are impossible."
  }
}

variable "cpu" {
  description = "Fargate CPU units per web task."
  type        = number
  default     = 512

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096], var.cpu)
    error_message = "cpu must be a Fargate size: 256, 512, 1024, 2048 or 4096."
  }
}

variable "memory" {
  description = "Memory (MiB) per web task; must suit the CPU size."
  type        = number
  default     = 1024

  validation {
    condition     = var.memory >= 512 && var.memory <= 30720
    error_message = "memory must be between 512 and 30720 MiB."
  }
}

variable "desired_count" {
  description = "Tasks started at first deploy; autoscaling moves it between min_count and max_count afterwards."
  type        = number
  default     = 2
}

variable "min_count" {
  description = "Fewest web tasks (two keep the site up while one AZ or task fails)."
  type        = number
  default     = 2

  validation {
    condition     = var.min_count >= 1
    error_message = "min_count must be at least 1: the web service cannot scale to zero."
  }
}

variable "max_count" {
  description = "Most web tasks under load."
  type        = number
  default     = 6
}

variable "cpu_target_percent" {
  description = "Average CPU that web autoscaling aims for."
  type        = number
  default     = 60

  validation {
    condition     = var.cpu_target_percent >= 10 && var.cpu_target_percent <= 90
    error_message = "cpu_target_percent must be between 10 and 90."
  }
}

variable "container_port" {
  description = "Port `salon serve` listens on inside the container."
  type        = number
  default     = 8000
}

variable "health_check_path" {
  description = "Path the load balancer probes. /health is liveness (the process answers); /ready is deep (database, schema, S3, SQS), so probing it would replace every task on a brief outage of any of them."
  type        = string
  default     = "/health"
}

variable "environment" {
  description = "Plain environment variables (non-secret settings), name => value."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.environment) : !can(regex("(?i)(SECRET|PASSWORD|DATABASE_URL|API_KEY)", k))])
    error_message = "Secret-looking settings (SECRET, PASSWORD, DATABASE_URL, API_KEY) must go through var.secrets, not plain environment."
  }
}

variable "secrets" {
  description = "Environment variables injected from Secrets Manager, name => secret ARN."
  type        = map(string)
  default     = {}
}

variable "execution_role_arn" {
  description = "ECS task execution role (image pull, logs, secrets)."
  type        = string
}

variable "task_role_arn" {
  description = "Role the web containers run as."
  type        = string
}

variable "ops_task_role_arn" {
  description = "Task role of the migrate task definition, which also runs one-off commands (deploy/tools/run-task.sh). null: the web task role."
  type        = string
  default     = null
}

variable "log_group_name" {
  description = "Log group of the web containers."
  type        = string
}

variable "migrate_log_group_name" {
  description = "Log group of the one-off migration task."
  type        = string
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
  description = "Public hosted zone of domain_name (certificate validation and the alias record)."
  type        = string
}

variable "certificate_arn" {
  description = "Existing ACM certificate for domain_name; null requests one, validated through Route 53."
  type        = string
  default     = null
}

variable "create_dns_record" {
  description = "Point domain_name at the load balancer (false when API Gateway is the entry point)."
  type        = bool
  default     = true
}

variable "ssl_policy" {
  description = "TLS policy of the HTTPS listener."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"
}

variable "deletion_protection" {
  description = "Protect the load balancer from deletion."
  type        = bool
  default     = true
}

variable "access_logs_bucket" {
  description = "Bucket for ALB access logs (its policy must allow ELB log delivery); null disables them."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
