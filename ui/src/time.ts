// Times as the reader's own clock shows them.

export function when(ms: number | bigint | null | undefined): string {
  if (ms === null || ms === undefined) return "-";
  return new Date(Number(ms)).toLocaleString(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
}

export function seconds(s: number): string {
  return s < 1 ? `${Math.round(s * 1000)} ms` : `${s.toFixed(2)} s`;
}

export function bytes(n: number | bigint | undefined): string {
  if (n === undefined) return "-";
  let v = Number(n);
  for (const unit of ["B", "KiB", "MiB", "GiB"]) {
    if (v < 1024 || unit === "GiB") return unit === "B" ? `${v} B` : `${v.toFixed(1)} ${unit}`;
    v /= 1024;
  }
  return `${v} B`;
}

export function short(id: string): string {
  return id.slice(0, 12);
}
