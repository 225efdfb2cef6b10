#!/usr/bin/env bash
# `make package STAGE=<stage>`: collect static files and build dist/<stage>.zip with Zappa, from .venv-package
# (runtime requirements + zappa only). Offline: no AWS credentials, no downloads (use_precompiled_packages=false).
set -euo pipefail
cd "$(dirname "$0")/.."
STAGE=${1:?usage: package_lambda.sh <stage>}
VENV=$PWD/.venv-package

# Lambda's file system is read-only: WhiteNoise serves what collectstatic gathered into staticfiles/ at build time.
DJANGO_SETTINGS_MODULE=chatapp.settings.base DJANGO_SECRET_KEY=collectstatic-only \
  "$VENV/bin/python" manage.py collectstatic --noinput --clear --verbosity 0

mkdir -p dist
rm -f "dist/$STAGE.zip"
# Zappa zips the virtualenv named by VIRTUAL_ENV; without credentials it still packages (region from the settings).
env -u AWS_PROFILE AWS_EC2_METADATA_DISABLED=true VIRTUAL_ENV="$VENV" PATH="$VENV/bin:$PATH" AWS_DEFAULT_REGION=us-east-1 \
  "$VENV/bin/zappa" package "$STAGE" --output "dist/$STAGE.zip" --disable_progress >/dev/null
"$VENV/bin/python" scripts/lambda_zip.py "dist/$STAGE.zip"

"$VENV/bin/python" - "dist/$STAGE.zip" <<'PY'
import sys
import zipfile

path = sys.argv[1]
with zipfile.ZipFile(path) as archive:
    infos = archive.infolist()
zipped = sum(info.compress_size for info in infos)
unzipped = sum(info.file_size for info in infos)
mib = 1024 * 1024
print(f"{path}: {zipped / mib:.1f} MiB zipped, {unzipped / mib:.1f} MiB unzipped, {len(infos)} files")
if zipped > 50 * mib:
    sys.exit(f"{path} is over Lambda's 50 MiB limit for a direct zip upload")
PY
