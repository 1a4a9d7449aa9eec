#!/bin/sh
# Runs kvm-run under jdb with the breakpoints of jdb.ini (jdb reads jdb.ini from the directory it starts in).
# From the repository root:  docs/jdb/jdb.sh [kvm-run arguments]   (default: --guest in-read --backend soft)
set -e
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
mvn -q -pl vmm -am compile dependency:build-classpath -Dmdep.outputFile=target/classpath.txt
cp="$root/vmm/target/classes:$(cat "$root/vmm/target/classpath.txt")"
[ $# -gt 0 ] || set -- --guest in-read --backend soft
cd "$root/docs/jdb"
exec jdb -classpath "$cp" kvmkmod.vmm.Main "$@"
