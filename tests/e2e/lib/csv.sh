# shellcheck shell=bash
# shellcheck disable=SC2034
#
# What collectd's csv plugin wrote.
# Sourced by tests/e2e/lib.sh; see there.

# --- csv ---------------------------------------------------------------------

# Directory of the csv files of plugin[-instance] PI, e.g. iptraffic-vb.
itr_csv_dir() {
  echo "$ITR_CSV_DIR/$ITR_HOST/$1"
}

# Newest csv file of series SERIES (type-type_instance) under PI, or nothing.
itr_csv_file() {
  local pi=$1 series=$2 f newest=
  for f in "$(itr_csv_dir "$pi")/$series"-[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]; do
    [ -e "$f" ] && newest=$f
  done
  echo "$newest"
}

# The series (type-type_instance) of type TYPE under PI, one a line.
itr_csv_series() {
  local pi=$1 type=$2 f
  for f in "$(itr_csv_dir "$pi")/$type"-*-[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]; do
    [ -e "$f" ] || continue
    f=${f##*/}
    echo "${f%-[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]}"
  done | sort -u
}

# Last data line of csv file FILE (epoch,value...), or nothing.
itr_csv_last() {
  [ -s "$1" ] || return 0
  tail -n 1 "$1" | grep -v '^epoch' || true
}

# itr_csv_value PI SERIES COLUMN: the value of COLUMN (a name of the header,
# e.g. rx, tx, value) in the last line of the series. Empty if none.
itr_csv_value() {
  local file
  file=$(itr_csv_file "$1" "$2")
  [ -n "$file" ] && [ -s "$file" ] || return 0
  awk -F, -v col="$3" '
    NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i; next }
    { last = $c }
    END { if (c && last != "") printf "%s\n", last }' "$file"
}

# Number of data lines of a csv file.
itr_csv_lines() {
  if [ -s "$1" ]; then
    echo $(($(wc -l <"$1") - 1))
  else
    echo 0
  fi
}

# Epoch of the newest value the memory plugin wrote (0 if none): a clock of
# completed collectd read cycles, independent of the iptraffic plugin.
itr_memory_epoch() {
  local f line
  f=$(itr_csv_file memory memory-used)
  line=$(itr_csv_last "${f:-/nonexistent}")
  line=${line%%,*}
  echo "${line%%.*}"
}

# Signature of the last values (not times) of every csv file under PI.
itr_csv_signature() {
  local f
  for f in "$(itr_csv_dir "$1")"/*; do
    [ -e "$f" ] || continue
    printf '%s %s\n' "${f##*/}" "$(itr_csv_last "$f" | cut -d, -f2-)"
  done
}

itr_memory_epoch_at_least() {
  local e
  e=$(itr_memory_epoch)
  [ "${e:-0}" -ge "$1" ]
}

# itr_csv_settle PI SINCE [TIMEOUT]: waits until collectd has completed read
# cycles at least two seconds after epoch SINCE (the end of the traffic)
# and the values under PI did not change over a further read cycle.
itr_csv_settle() {
  local pi=$1 since=$2 timeout=${3:-20} deadline sig next e
  deadline=$(($(date +%s) + timeout))
  itr_wait_for "$timeout" "collectd read cycles after the traffic" \
    itr_memory_epoch_at_least $((since + 2))
  sig=$(itr_csv_signature "$pi")
  while :; do
    e=$(itr_memory_epoch)
    itr_wait_for "$timeout" "the next collectd read cycle" \
      itr_memory_epoch_at_least $((e + 1))
    next=$(itr_csv_signature "$pi")
    [ "$next" = "$sig" ] && [ -n "$sig" ] && return 0
    sig=$next
    [ "$(date +%s)" -lt "$deadline" ] ||
      itr_fail "csv values under $pi still changing after ${timeout}s"
  done
}
