# chroot.sh - helpers shared by the host set-up scripts that build Debian trixie chroots.
# Source it after setting ROOT. Never bind-mounts /dev (so `rm -rf $ROOT` stays safe) and never
# touches the host's apt sources: only proc, a new devpts instance and a tmpfs /dev/shm.

# The shared cache of test hosts (kept across clones; GPT_IMAGE_HOSTCACHE overrides).
CACHE_ROOT=${GPT_IMAGE_HOSTCACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gpt-image-tests}

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
