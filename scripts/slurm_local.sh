#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, for testing sweeps through Hydra's submitit SLURM
# launcher (`make test-slurm`, tests/test_slurm.py). As root:
#
#   scripts/slurm_local.sh start DIR   # installs slurm-wlm + munge when absent (apt-get), starts
#                                      # munged (unless running), slurmctld and slurmd from
#                                      # DIR/slurm.conf; waits until the node is idle; prints
#                                      # the `export SLURM_CONF=DIR/slurm.conf` line for clients
#   scripts/slurm_local.sh stop DIR    # cancels the cluster's jobs, stops the daemons that
#                                      # `start DIR` started (pid files under DIR)
#
# Everything the cluster writes (config, state, spool, logs, pid files) lies under DIR; the only
# files outside it are munge's key (/etc/munge/munge.key, created when missing) and munged's own
# run/log folders. No cgroups (proctrack/linuxproc, task/none) and no accounting (no slurmdbd:
# `sacct` fails, so submitit logs "Bypassing sacct error" while polling, and cannot see that a
# job ended without a result, e.g. a cancelled one). Both subcommands are safe to rerun.
# Environment: SLURM_CPUS (default: nproc), SLURM_PARTITION (default: debug),
# SLURM_START_TIMEOUT (seconds to wait for the idle node; default 60), SLURMCTLD_PORT and
# SLURMD_PORT (default 6817 and 6818, SLURM's own).
set -euo pipefail

usage() {
    echo "usage: $0 start|stop DIR" >&2
    exit 2
}

die() {
    echo "slurm_local: $*" >&2
    exit 1
}

log() {
    echo "slurm_local: $*" >&2
}

[[ $# -eq 2 ]] || usage
cmd=$1
dir=$2
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
conf=$dir/slurm.conf
host=$(hostname -s)
partition=${SLURM_PARTITION:-debug}
cpus=${SLURM_CPUS:-$(nproc)}
start_timeout=${SLURM_START_TIMEOUT:-60}
ctld_port=${SLURMCTLD_PORT:-6817}
slurmd_port=${SLURMD_PORT:-6818}

# The pid in FILE when that process is alive and its command is NAME; empty otherwise.
live_pid() {
    local file=$1 name=$2 pid
    [[ -s $file ]] || return 0
    pid=$(tr -dc '0-9' <"$file")
    [[ -n $pid && -r /proc/$pid/comm && $(cat "/proc/$pid/comm") == "$name" ]] && echo "$pid"
    return 0
}

install_packages() {
    command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null \
        && command -v munged >/dev/null && return 0
    [[ $(id -u) -eq 0 ]] || die "slurm-wlm and munge are not installed and this is not root (apt-get needs root)"
    command -v apt-get >/dev/null || die "slurm-wlm and munge are not installed and there is no apt-get"
    log "installing slurm-wlm and munge with apt-get (about a minute)"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-cache policy slurm-wlm 2>/dev/null | grep -q 'Candidate: [0-9]'; then
        apt-get update -qq
    fi
    # Keep the packages' postinst scripts from starting daemons of their own (this script starts
    # and stops its daemons itself): a policy-rc.d that refuses, only if there is none already.
    local policy=/usr/sbin/policy-rc.d ours=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 0755 "$policy"
        ours=1
    fi
    local rc=0
    apt-get install -y -qq --no-install-recommends slurm-wlm munge >"$dir/apt.log" 2>&1 || rc=$?
    [[ $ours -eq 1 ]] && rm -f "$policy"
    [[ $rc -eq 0 ]] || { tail -20 "$dir/apt.log" >&2; die "apt-get install slurm-wlm munge failed (log: $dir/apt.log)"; }
}

start_munge() {
    local key=/etc/munge/munge.key
    if [[ ! -s $key ]]; then
        log "creating the munge key $key"
        install -d -o munge -g munge -m 0700 /etc/munge
        if command -v mungekey >/dev/null; then
            mungekey --create --keyfile="$key" --force
        else
            dd if=/dev/urandom of="$key" bs=1 count=1024 status=none
        fi
        chown munge:munge "$key"
        chmod 0400 "$key"
    fi
    if munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
        return 0  # a munged is running (ours from an earlier start, or somebody else's)
    fi
    install -d -o munge -g munge -m 0755 /run/munge
    install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge
    log "starting munged"
    runuser -u munge -- munged
    local i
    for i in $(seq 50); do
        munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1 && break
        sleep 0.1
    done
    munge -n </dev/null | unmunge >/dev/null || die "munged does not answer (see /var/log/munge/munged.log)"
    # Remember that this script started it, so that `stop` stops it (and only then).
    cp /run/munge/munged.pid "$dir/munged.pid"
}

write_conf() {
    mkdir -p "$dir/state" "$dir/spool" "$dir/log"
    cat >"$conf.tmp" <<EOF
# Written by scripts/slurm_local.sh: a one-node cluster, no cgroups, no accounting.
ClusterName=ganmc
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
# A cancelled job's processes get SIGKILL 5 s after SIGTERM (submitit ignores SIGTERM).
KillWait=5
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=$partition Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    mv "$conf.tmp" "$conf"
}

start_daemon() {
    local name=$1 port=$2 pid
    pid=$(live_pid "$dir/$name.pid" "$name")
    if [[ -n $pid ]]; then
        log "$name already running (pid $pid)"
        return 0
    fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        die "port $port is taken, by another $name? (pgrep -a slurm; a cluster started into another" \
            "DIR stops with '$0 stop DIR'), or set ${name^^}_PORT to a free port"
    fi
    log "starting $name"
    "$name" -f "$conf" || die "$name did not start (log: $dir/log/$name.log)"
    local i
    for i in $(seq 50); do
        [[ -n $(live_pid "$dir/$name.pid" "$name") ]] && return 0
        sleep 0.1
    done
    tail -20 "$dir/log/$name.log" >&2 || true
    die "$name did not start (log: $dir/log/$name.log)"
}

wait_idle() {
    local deadline=$((SECONDS + start_timeout)) state=""
    while ((SECONDS < deadline)); do
        state=$(SLURM_CONF=$conf sinfo -h -N -n "$host" -o '%T' 2>/dev/null || true)
        case $state in
            idle | mixed | allocated) return 0 ;;
        esac
        local name
        for name in slurmctld slurmd; do
            if [[ -z $(live_pid "$dir/$name.pid" "$name") ]]; then
                tail -5 "$dir/log/$name.log" >&2 || true
                die "$name died while starting (log: $dir/log/$name.log)"
            fi
        done
        sleep 0.5
    done
    tail -5 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" >&2 || true
    die "node $host not idle after ${start_timeout} s (sinfo says '${state:-nothing}'; logs in $dir/log)"
}

start() {
    install_packages
    start_munge
    write_conf
    start_daemon slurmctld "$ctld_port"
    start_daemon slurmd "$slurmd_port"
    wait_idle
    log "cluster up: node $host, $cpus CPUs, partition $partition"
    echo "export SLURM_CONF=$conf"
}

stop_pid() {
    local name=$1 file=$2 pid i
    pid=$(live_pid "$file" "$name")
    if [[ -z $pid ]]; then
        rm -f "$file"
        return 0
    fi
    log "stopping $name (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for i in $(seq 100); do
        [[ -d /proc/$pid ]] || break
        sleep 0.1
    done
    if [[ -d /proc/$pid ]]; then
        log "$name (pid $pid) ignores SIGTERM: SIGKILL"
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$file"
}

stop() {
    # This cluster's jobs first, so that no job step outlives its slurmd.
    if [[ -f $conf && -n $(live_pid "$dir/slurmctld.pid" slurmctld) ]]; then
        local jobs i
        jobs=$(SLURM_CONF=$conf squeue -h -o '%A' 2>/dev/null || true)
        if [[ -n $jobs ]]; then
            log "cancelling jobs: $(echo $jobs)"
            # shellcheck disable=SC2086
            SLURM_CONF=$conf scancel $jobs 2>/dev/null || true
            for i in $(seq 150); do
                [[ -z $(SLURM_CONF=$conf squeue -h -o '%A' 2>/dev/null || true) ]] && break
                sleep 0.1
            done
        fi
    fi
    stop_pid slurmd "$dir/slurmd.pid"
    stop_pid slurmctld "$dir/slurmctld.pid"
    stop_pid munged "$dir/munged.pid"  # only when `start DIR` started it
}

case $cmd in
    start) start ;;
    stop) stop ;;
    *) usage ;;
esac
