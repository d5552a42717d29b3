# moto's server with one change: request signatures are not recomputed. moto 5.1 computes a different
# signature than AWS's SDKs for some requests (S3 ListObjectsV2 with a prefix holding "/", as restic sends), so
# with signature checks on, no real client could list a bucket. Everything else stays checked: the access key
# id must be one moto's IAM issued (else 403 InvalidAccessKeyId) and its policy must allow the action.
import sys
from moto.iam.access_control import IAMRequestBase
from moto.server import main

IAMRequestBase.check_signature = lambda self: None
main(sys.argv[1:])
