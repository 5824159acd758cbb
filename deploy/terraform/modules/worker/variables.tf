variable "name" {
  description = "Name prefix of the worker service and task definition."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,24}$", var.name))
    error_message = "name must be 2-25 lower-case letters, digits or hyphens."
  }
}

variable "vpc_id" {
  description = "VPC of the service."
  type        = string
}

variable "vpc_cidr_blocks" {
  description = "CIDRs of the VPC (the database is reached inside them)."
  type        = list(string)
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
  description = "Container image, repository:tag (the same image as the web service)."
  type        = string

  validation {
    condition     = can(regex("^[^:@\\s]+(:[A-Za-z0-9_.-]+|@sha256:[a-f0-9]{64})$", var.image))
    error_message = "image must name a tag or digest."
  }
}

variable "cpu" {
  description = "Fargate CPU units per worker task (ffmpeg is CPU-bound)."
  type        = number
  default     = 1024

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096], var.cpu)
    error_message = "cpu must be a Fargate size: 256, 512, 1024, 2048 or 4096."
  }
}

variable "memory" {
  description = "Memory (MiB) per worker task."
  type        = number
  default     = 2048

  validation {
    condition     = var.memory >= 512 && var.memory <= 30720
    error_message = "memory must be between 512 and 30720 MiB."
  }
}

variable "min_count" {
  description = "Fewest worker tasks; 0 lets the worker scale to zero when the queue is empty."
  type        = number
  default     = 0

  validation {
    condition     = var.min_count >= 0
    error_message = "min_count must not be negative."
  }
}

variable "max_count" {
  description = "Most worker tasks."
  type        = number
  default     = 10

  validation {
    condition     = var.max_count >= 1
    error_message = "max_count must be at least 1."
  }
}

variable "backlog_per_task_target" {
  description = "Messages waiting per running task that autoscaling aims for (acceptable latency / time per job)."
  type        = number
  default     = 10

  validation {
    condition     = var.backlog_per_task_target >= 1
    error_message = "backlog_per_task_target must be at least 1."
  }
}

variable "queue_name" {
  description = "Name of the SQS job queue (metric dimension for backlog scaling)."
  type        = string
}

variable "long_queue_name" {
  description = "Name of the long jobs' queue (videos), counted with the job queue for backlog scaling; null when there is none."
  type        = string
  default     = null
}

variable "use_spot" {
  description = "Run workers on FARGATE_SPOT (about 70% cheaper; jobs are idempotent and survive interruption)."
  type        = bool
  default     = true
}

variable "stop_timeout_seconds" {
  description = "Seconds between SIGTERM and SIGKILL, for the worker to finish or release its job."
  type        = number
  default     = 120

  validation {
    condition     = var.stop_timeout_seconds >= 2 && var.stop_timeout_seconds <= 120
    error_message = "stop_timeout_seconds must be between 2 and 120 (the Fargate maximum)."
  }
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
  description = "Role the worker containers run as."
  type        = string
}

variable "log_group_name" {
  description = "Log group of the worker containers."
  type        = string
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
