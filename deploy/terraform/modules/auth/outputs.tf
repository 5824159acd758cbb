output "user_pool_id" {
  description = "ID of the user pool (SALON_COGNITO_USER_POOL_ID)."
  value       = aws_cognito_user_pool.this.id
}

output "user_pool_arn" {
  description = "ARN of the user pool."
  value       = aws_cognito_user_pool.this.arn
}

output "client_id" {
  description = "ID of the app client (SALON_COGNITO_CLIENT_ID)."
  value       = aws_cognito_user_pool_client.this.id
}

output "issuer" {
  description = "Token issuer, https://cognito-idp.<region>.amazonaws.com/<pool id> (the API Gateway JWT authorizer checks it)."
  value       = "https://${aws_cognito_user_pool.this.endpoint}"
}

output "self_signup_allowed" {
  description = "Whether people can sign themselves up (false: admin-created users only)."
  value       = !aws_cognito_user_pool.this.admin_create_user_config[0].allow_admin_create_user_only
}

output "email_sending_account" {
  description = "COGNITO_DEFAULT (testing volumes) or DEVELOPER (through the SES identity)."
  value       = aws_cognito_user_pool.this.email_configuration[0].email_sending_account
}
