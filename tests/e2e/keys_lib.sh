# CurveZMQ keys for the test suite's clusters (after lib.sh): a keypair per node name, made once
# per test with `livepoll keygen` into $E2E_TMP/keys/secret, its public half copied into
# $E2E_TMP/keys/trusted (every node's trusted_keys). Clusters run with keys, as in production.

KEYS_DIR=$E2E_TMP/keys
# node_keys NAME: makes NAME's keypair unless it exists (KEYS_NEW=1 then), and sets KEY_ARGS to
# the daemon options that use it.
node_keys() {
  local name=$1
  mkdir -p "$KEYS_DIR/secret" "$KEYS_DIR/trusted"
  if [[ ! -e $KEYS_DIR/secret/$name.secret ]]; then
    "$LIVEPOLL" keygen --out "$KEYS_DIR/secret" "$name" >/dev/null || fail "livepoll keygen $name failed"
    cp "$KEYS_DIR/secret/$name.pub" "$KEYS_DIR/trusted/"
    KEYS_NEW=1
  fi
  KEY_ARGS=(--secret-key "$KEYS_DIR/secret/$name.secret" --trusted-keys "$KEYS_DIR/trusted")
}
# cluster_keys NAME...: keys for every node a test will start, before any starts, so that each
# node trusts all of them from its start.
cluster_keys() {
  local n
  for n in "$@"; do node_keys "$n"; done
}
KEYS_NEW=0
KEY_ARGS=()
