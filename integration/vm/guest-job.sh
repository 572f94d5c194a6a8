#!/bin/bash
# Inside the test guest (started by guest-boot.sh): the root integration
# suite on the files the host asked for, against the runtime it named.
# Reads /job/env (RUNTIME, FILES) written by integration/vm/run.sh.
set -uo pipefail
. /job/env
export RUNTIME SUMMARY_LABEL=vm
echo "berth-vm: runtime $RUNTIME ($("$RUNTIME" --version 2>&1 | head -n1))"
/repo/integration/run.sh "${FILES[@]}"
