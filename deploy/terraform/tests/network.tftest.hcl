# The network module under a mocked AWS provider: the NAT instance's address, egress and AMI
# handling, and the endpoints a VPC without NAT needs.
mock_provider "aws" {
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
  mock_data "aws_availability_zones" {
    defaults = { names = ["eu-west-1a", "eu-west-1b", "eu-west-1c"] }
  }
  mock_data "aws_ssm_parameter" {
    defaults = { value = "ami-0123456789abcdef0" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/salon/flow" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/flow" }
  }
  mock_resource "aws_eip" {
    defaults = { public_ip = "203.0.113.10" }
  }
}

variables {
  name        = "salon-test"
  kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/mock"
}

run "nat_instance_has_a_stable_address_and_narrow_egress" {
  module {
    source = "./modules/network"
  }

  command = apply

  variables {
    nat_mode = "instance"
  }

  assert {
    condition     = length(aws_eip.nat_instance) == 1 && aws_eip.nat_instance[0].instance == aws_instance.nat[0].id
    error_message = "The NAT instance gets an Elastic IP of its own."
  }

  assert {
    condition     = length(output.nat_public_ips) == 1 && output.nat_public_ips[0] == "203.0.113.10"
    error_message = "nat_public_ips is the Elastic IP, which survives a replacement of the instance."
  }

  assert {
    condition     = toset([for r in aws_vpc_security_group_egress_rule.nat_out : "${r.from_port}-${r.to_port}"]) == toset(["80-80", "443-443"])
    error_message = "The NAT instance forwards exactly ports 80 and 443, not the range between them."
  }

  assert {
    condition     = !contains(keys(aws_vpc_endpoint.interface), "cognito-idp")
    error_message = "With a NAT, Cognito is reached through it: no extra endpoint is paid for."
  }
}

run "no_nat_reaches_cognito_through_an_endpoint" {
  module {
    source = "./modules/network"
  }

  command = apply

  variables {
    nat_mode = "none"
  }

  assert {
    condition     = contains(keys(aws_vpc_endpoint.interface), "cognito-idp")
    error_message = "Without a NAT, the web tasks reach Cognito through an interface endpoint."
  }

  assert {
    condition     = length(aws_eip.nat_instance) == 0 && length(aws_instance.nat) == 0
    error_message = "nat_mode = none creates no NAT instance."
  }
}
