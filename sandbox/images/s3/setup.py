# Waits until moto listens (a TCP connect: an HTTP request would use up one of the unchecked requests), then
# makes an IAM user allowed s3:* and an access key for it, and writes the key to /run/s3/credentials.
import os, socket, time
import boto3

for _ in range(300):
    try:
        socket.create_connection(("127.0.0.1", 9000), timeout=1).close()
        break
    except OSError:
        time.sleep(0.1)
iam = boto3.client("iam", endpoint_url="https://127.0.0.1:9000", region_name="us-east-1", verify=False,
                   aws_access_key_id="setup", aws_secret_access_key="setup")
iam.create_user(UserName="backup")
iam.put_user_policy(UserName="backup", PolicyName="s3", PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}')
key = iam.create_access_key(UserName="backup")["AccessKey"]
os.makedirs("/run/s3", exist_ok=True)
with open("/run/s3/credentials.new", "w") as f:
    f.write(f"AWS_ACCESS_KEY_ID={key['AccessKeyId']}\nAWS_SECRET_ACCESS_KEY={key['SecretAccessKey']}\n")
os.rename("/run/s3/credentials.new", "/run/s3/credentials")
print("s3: ready on https://spaces:9000 with the key in /run/s3/credentials", flush=True)
