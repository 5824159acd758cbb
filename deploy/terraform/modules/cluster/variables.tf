variable "name" {
  description = "Name of the ECS cluster."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,255}$", var.name))
    error_message = "name must be letters, digits, hyphens or underscores."
  }
}

variable "container_insights" {
  description = "Enable CloudWatch Container Insights (per-task CPU/memory metrics; adds a small cost)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
