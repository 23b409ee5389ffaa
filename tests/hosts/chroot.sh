# chroot.sh - helpers shared by the host set-up scripts that build Debian trixie chroots.
# Source it after setting ROOT. Never bind-mounts /dev (so `rm -rf $ROOT` stays safe) and never
# touches the host's apt sources: only proc, a new devpts instance and a tmpfs /dev/shm.

# The shared cache of test hosts (kept across clones; GPT_IMAGE_HOSTCACHE overrides).
CACHE_ROOT=${GPT_IMAGE_HOSTCACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gpt-image-tests}

# apt-get on the host machine itself (not in a chroot). Set-up jobs run side by side
# (testhosts.py --jobs) and a fresh machine may be running apt of its own: one host apt at a time
# among ours (flock), and while another program holds apt's lock, wait and try again (apt's own
# DPkg::Lock::Timeout does not cover the lists lock of `apt-get update`), for up to 10 minutes.
host_apt() {
  mkdir -p "$CACHE_ROOT"
  local err tries=0 rc
  err=$(mktemp)
  while :; do
    rc=0
    DEBIAN_FRONTEND=noninteractive flock "$CACHE_ROOT/.host-apt.lock" \
      apt-get -o DPkg::Lock::Timeout=600 "$@" 2>"$err" || rc=$?
    if [ $rc -ne 0 ] && grep -q "Could not get lock" "$err" && [ $((tries += 1)) -le 120 ]; then
      sleep 5
      continue
    fi
    cat "$err" >&2
    rm -f "$err"
    return $rc
  done
}

# Run a command inside the chroot with a clean environment.
inroot() {
  chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}

mount_root() {
  mkdir -p "$ROOT/dev/pts" "$ROOT/dev/shm"
  mountpoint -q "$ROOT/proc"    || mount -t proc proc "$ROOT/proc"
  mountpoint -q "$ROOT/dev/pts" || mount -t devpts devpts "$ROOT/dev/pts" -o newinstance,ptmxmode=0666
  mountpoint -q "$ROOT/dev/shm" || mount -t tmpfs shm "$ROOT/dev/shm" -o mode=1777,size=512m
  cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"
}

umount_root() {
  for d in dev/shm dev/pts proc; do
    if mountpoint -q "$ROOT/$d"; then umount -l "$ROOT/$d"; fi
  done
  true
}

# A minimal Debian trixie in $ROOT (once: a finished one is kept), its apt sources inside the
# chroot only, and no services started by package scripts. $1 = mirror, $2 = log file.
bootstrap_trixie() {
  local mirror=$1 logfile=$2
  if [ ! -x "$ROOT/usr/bin/apt-get" ] || [ ! -f "$ROOT/.debootstrap-done" ]; then
    command -v debootstrap >/dev/null || { host_apt update -q; host_apt install -y -q debootstrap; }
    umount_root
    rm -rf --one-file-system "$ROOT"
    debootstrap --variant=minbase trixie "$ROOT" "$mirror" >"$logfile" 2>&1 \
      || { tail -30 "$logfile" >&2; return 1; }
    touch "$ROOT/.debootstrap-done"
  fi
  printf 'deb %s trixie main\ndeb %s trixie-updates main\n' "$mirror" "$mirror" \
    > "$ROOT/etc/apt/sources.list"
  echo "deb http://deb.debian.org/debian-security trixie-security main" >> "$ROOT/etc/apt/sources.list"
  printf '#!/bin/sh\nexit 101\n' > "$ROOT/usr/sbin/policy-rc.d"
  chmod +x "$ROOT/usr/sbin/policy-rc.d"
}

# apt-get install PACKAGES inside the chroot, output to $APT_LOG (its tail on failure).
inroot_install() {
  inroot apt-get update -q >"$APT_LOG" 2>&1 || { tail -30 "$APT_LOG" >&2; return 1; }
  inroot apt-get install -y -q --no-install-recommends "$@" >>"$APT_LOG" 2>&1 \
    || { tail -30 "$APT_LOG" >&2; return 1; }
  inroot apt-get clean
}

# What the inner Krita suite imports besides the plug-in: pytest, and greenlet so that a test can
# hand control back to Krita's top-level event loop while it waits (see the Krita harness).
KRITA_TEST_PACKAGES=("pytest>=8" "greenlet>=3")

# Install KRITA_TEST_PACKAGES for Python $2 (e.g. 3.11) into $1, once per package list.
install_test_packages() {
  local dest=$1 pyver=$2 want
  want=$(printf '%s ' "${KRITA_TEST_PACKAGES[@]}")
  [ "$(cat "$dest/.ok" 2>/dev/null)" = "$want" ] && return 0
  rm -rf "$dest"; mkdir -p "$dest"
  "${PY:-python3}" -m pip install -q --no-compile --no-warn-conflicts --disable-pip-version-check \
    --root-user-action=ignore \
    --only-binary=:all: --python-version "$pyver" --implementation cp \
    --platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64 \
    --target "$dest" "${KRITA_TEST_PACKAGES[@]}"
  echo "$want" > "$dest/.ok"
}

# Run a command inside the chroot in a mount namespace of its own: proc, devpts and /dev/shm are
# mounted for that command only and vanish with it (nothing to unmount, nothing left behind by a
# killed run, and two commands in one chroot never unmount each other's).
inroot_private() {
  unshare --mount --propagation private -- /bin/sh -c '
    r=$1; shift
    mkdir -p "$r/proc" "$r/dev/pts" "$r/dev/shm"
    mount -t proc proc "$r/proc" &&
    mount -t devpts devpts "$r/dev/pts" -o newinstance,ptmxmode=0666 &&
    mount -t tmpfs shm "$r/dev/shm" -o mode=1777,size=512m &&
    exec chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
      LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"' sh "$ROOT" "$@"
}
