// What a server process spends, read from /proc: user + system CPU time. On a 2-core machine
// req/s ratios measure the load generator as much as the server; CPU per answer does not.
import { readFileSync } from "node:fs";

/** Linux's USER_HZ: /proc reports times in these ticks (100 on every Linux we run on). */
const TICKS_PER_SECOND = 100;

/** The process's CPU time so far, in milliseconds (utime + stime, fields 14 and 15 of /proc/PID/stat). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) may hold spaces and parentheses: count fields after its closing one.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}
