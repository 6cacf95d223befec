#!/usr/bin/env bash
# The stages of src/ form a DAG: a stage may include its own headers, the public API
# (include/tessera/) and the stages below it, never one above. Usage: check_layering.sh SRC_DIR
# Prints each upward #include and exits 1 when there is one.
set -u
src=${1:?usage: check_layering.sh SRC_DIR}

# Lowest first; a stage sees every stage before it in this list.
stages=(core graph model optimizer framework providers training api)

violations=0
for ((i = 0; i < ${#stages[@]}; ++i)); do
  stage=${stages[$i]}
  [ -d "$src/$stage" ] || continue
  for ((j = i + 1; j < ${#stages[@]}; ++j)); do
    upper=${stages[$j]}
    while IFS= read -r hit; do
      [ -n "$hit" ] || continue
      echo "upward include: $hit  ($stage must not see $upper)"
      violations=$((violations + 1))
    done < <(grep -rnE "^[[:space:]]*#[[:space:]]*include[[:space:]]*[<\"]$upper/" "$src/$stage" \
               --include='*.h' --include='*.cc' --include='*.inc' 2>/dev/null)
  done
done
# Only the model loader sees ONNX's protobuf; src/serve's gRPC front end sees only its own v2
# service messages (src/serve/kserve_v2.proto), never the ONNX ones.
while IFS= read -r hit; do
  [ -n "$hit" ] || continue
  echo "protobuf outside src/model: $hit"
  violations=$((violations + 1))
done < <(grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](google/protobuf|.*\.pb\.h)' "$src" \
           --include='*.h' --include='*.cc' 2>/dev/null | grep -v "^$src/model/" |
           grep -vE "^$src/serve/[^:]+:[0-9]+:[[:space:]]*#[[:space:]]*include[[:space:]]*\"(src/serve/kserve_v2(\.grpc)?\.pb\.h|google/protobuf/)")

if [ "$violations" -ne 0 ]; then
  echo "$violations layering violation(s)"
  exit 1
fi
echo "layering ok: ${stages[*]}"
