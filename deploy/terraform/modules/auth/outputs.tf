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
