terraform {
  required_version = ">= 1.11.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # State lives in S3 with native locking; the bucket is made once by hand (see the README):
  #   terraform init -backend-config=backend.hcl
  backend "s3" {}
}
