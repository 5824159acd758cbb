variable "name" {
  description = "Deployment name: prefix of the alarms and the dashboard's name."
  type        = string
}

variable "alarm_topic_arn" {
  description = "SNS topic every alarm (and its recovery) is sent to."
  type        = string
}

variable "load_balancer_arn_suffix" {
  description = "ARN suffix of the web service's load balancer."
  type        = string
}

variable "target_group_arn_suffix" {
  description = "ARN suffix of the web service's target group."
  type        = string
}

variable "cluster_name" {
  description = "ECS cluster of both services."
  type        = string
}

variable "web_service_name" {
  description = "ECS service of the web tasks."
  type        = string
}

variable "web_min_count" {
  description = "Fewest web tasks that should run; fewer for 5 minutes alarms."
  type        = number

  validation {
    condition     = var.web_min_count >= 1
    error_message = "web_min_count must be at least 1: a web service meant to run no task needs no alarm."
  }
}

variable "worker_service_name" {
  description = "ECS service of the worker (on the dashboard; it scales to zero, so no running-count alarm)."
  type        = string
}

variable "queue_name" {
  description = "The job queue (on the dashboard)."
  type        = string
}

variable "long_queue_name" {
  description = "The long jobs' queue (videos; on the dashboard); null when there is none."
  type        = string
  default     = null
}

variable "dlq_name" {
  description = "The job queue's dead-letter queue (on the dashboard); null: <queue_name>-dlq, as the queue module names it."
  type        = string
  default     = null
}

variable "db_instance_id" {
  description = "RDS instance identifier."
  type        = string
}

variable "db_max_connections" {
  description = "Connections at which the database alarm fires (about 80% of max_connections of the instance class)."
  type        = number
  default     = 60
}

variable "db_free_storage_bytes" {
  description = "Free storage below which the database alarm fires."
  type        = number
  default     = 2147483648
}

variable "alb_5xx_per_5_minutes" {
  description = "5xx answers (from targets or the load balancer itself) in 5 minutes that raise an alarm."
  type        = number
  default     = 10

  validation {
    condition     = var.alb_5xx_per_5_minutes >= 0
    error_message = "alb_5xx_per_5_minutes cannot be negative."
  }
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
