variable "name" {
  description = "Name of the HTTP API and its VPC link."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,60}$", var.name))
    error_message = "name must be lower-case letters, digits or hyphens."
  }
}

variable "vpc_id" {
  description = "VPC of the internal load balancer."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets the VPC link places its ENIs in."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "subnet_ids needs at least two subnets."
  }
}

variable "listener_arn" {
  description = "HTTPS listener of the internal ALB in front of the web service."
  type        = string
}

variable "load_balancer_security_group_id" {
  description = "Security group of the internal ALB (the VPC link must reach it on 443)."
  type        = string
}

variable "domain_name" {
  description = "Custom domain of the API (the same name the ALB certificate covers)."
  type        = string
}

variable "certificate_arn" {
  description = "Validated ACM certificate of domain_name (regional, same region)."
  type        = string
}

variable "route53_zone_id" {
  description = "Hosted zone of domain_name."
  type        = string
}

variable "jwt_issuer" {
  description = "Issuer of accepted tokens: https://cognito-idp.<region>.amazonaws.com/<user pool id>."
  type        = string

  validation {
    condition     = startswith(var.jwt_issuer, "https://")
    error_message = "jwt_issuer must be an https URL."
  }
}

variable "jwt_audience" {
  description = "Accepted audiences: the Cognito app client IDs."
  type        = list(string)
}

variable "protected_route_keys" {
  description = "Routes that need a valid Cognito JWT in the Authorization header at the edge. Default none: the browser UI sends its token in an HttpOnly cookie, which a JWT authorizer cannot read, and Salon verifies every token (header or cookie) itself. List routes here only when no browser uses them (API-only deployments)."
  type        = list(string)
  default     = []
}

variable "throttling_rate_limit" {
  description = "Steady-state requests per second allowed across the API."
  type        = number
  default     = 200
}

variable "throttling_burst_limit" {
  description = "Burst of requests allowed across the API."
  type        = number
  default     = 400
}

variable "log_retention_days" {
  description = "Retention of the access log group."
  type        = number
  default     = 30
}

variable "kms_key_arn" {
  description = "KMS key of the access log group."
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
