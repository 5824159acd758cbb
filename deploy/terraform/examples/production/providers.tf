provider "aws" {
  region = var.region

  default_tags {
    tags = local.tags
  }
}

# Generates the ephemeral secrets only (see main.tf): same account and region.
provider "aws" {
  alias  = "secrets"
  region = var.region

  default_tags {
    tags = local.tags
  }
}
