# tflocal (deploy/tools/tflocal.sh) adds the LocalStack endpoints and test credentials.
provider "aws" {
  region = var.region

  default_tags {
    tags = { "salon:deployment" = var.name, "managed-by" = "terraform" }
  }
}
