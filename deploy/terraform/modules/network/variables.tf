variable "name" {
  description = "Name prefix for every resource of the network (e.g. \"salon-prod\")."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name))
    error_message = "name must be 2-31 lower-case letters, digits or hyphens, starting with a letter."
  }
}

variable "cidr_block" {
  description = "Primary IPv4 CIDR of the VPC; public and private subnets are carved from it."
  type        = string
  default     = "10.40.0.0/16"

  validation {
    condition     = can(cidrnetmask(var.cidr_block)) && tonumber(split("/", var.cidr_block)[1]) <= 20
    error_message = "cidr_block must be a valid IPv4 CIDR of /20 or larger."
  }
}

variable "secondary_cidr_block" {
  description = "Optional secondary CIDR (e.g. 100.64.0.0/16) for workload subnets that hold the ECS tasks, keeping the primary range small. Null: tasks use the private subnets."
  type        = string
  default     = null

  validation {
    condition     = var.secondary_cidr_block == null || can(cidrnetmask(var.secondary_cidr_block))
    error_message = "secondary_cidr_block must be null or a valid IPv4 CIDR."
  }
}

variable "az_count" {
  description = "How many availability zones to span (two is the minimum for an ALB and RDS)."
  type        = number
  default     = 2

  validation {
    condition     = var.az_count >= 2 && var.az_count <= 3
    error_message = "az_count must be 2 or 3."
  }
}

variable "availability_zones" {
  description = "Zone names to use, e.g. [\"eu-west-1a\", \"eu-west-1b\"]; empty takes the first az_count available zones in name order."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.availability_zones) == 0 || (length(var.availability_zones) >= 2 && length(var.availability_zones) <= 3)
    error_message = "availability_zones must be empty or name 2 or 3 zones."
  }
}

variable "nat_mode" {
  description = "Outbound internet for private subnets: \"gateway\" (one managed NAT gateway per AZ), \"single_gateway\" (one NAT gateway shared by all AZs), \"instance\" (one small NAT instance: cheapest, not highly available) or \"none\" (VPC endpoints only)."
  type        = string
  default     = "gateway"

  validation {
    condition     = contains(["gateway", "single_gateway", "instance", "none"], var.nat_mode)
    error_message = "nat_mode must be one of gateway, single_gateway, instance, none."
  }
}

variable "nat_instance_type" {
  description = "EC2 instance type of the NAT instance when nat_mode = \"instance\"."
  type        = string
  default     = "t4g.nano"
}

variable "nat_instance_ami_id" {
  description = "AMI for the NAT instance; null picks the latest Amazon Linux 2023 arm64 image."
  type        = string
  default     = null
}

variable "interface_endpoints" {
  description = "AWS services reached through interface VPC endpoints from the private subnets (S3 always gets a free gateway endpoint)."
  type        = list(string)
  default     = ["ecr.api", "ecr.dkr", "sqs", "logs", "secretsmanager"]

  validation {
    condition     = alltrue([for s in var.interface_endpoints : can(regex("^[a-z0-9.-]+$", s))])
    error_message = "interface_endpoints entries are service suffixes such as \"sqs\" or \"ecr.dkr\"."
  }
}

variable "flow_log_retention_days" {
  description = "Retention of the VPC flow log group, in days."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_log_retention_days)
    error_message = "flow_log_retention_days must be a retention period CloudWatch Logs accepts."
  }
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the flow log group."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
