# deploy/terraform itself creates nothing: deploy with examples/production (or your own root
# that calls ./modules). This file makes the folder a root for `terraform test`, whose suites
# in tests/ load each module with a mocked AWS provider.
terraform {
  required_version = ">= 1.11.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }
}
