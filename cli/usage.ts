// The help text: every command and option, as DESIGN §7 lists them.
export const USAGE = `usage: config-sidecar <command> [options]

  serve  [--config F] [--socket S] [--app NAME] [--log-level L] [--lock-stale-ms N]
         [--schema M] [--limit NAME=VALUE]... [--quarantine FILES,BYTES] [--socket-mode 0660 --socket-group G]
         [--read-only-socket P [--read-only-socket-mode 0660 --read-only-socket-group G]]
                                  run the sidecar (the lock counts as abandoned N ms after its last refresh; default 10000);
                                  M: an ES module exporting a zod schema, or a JSON Schema file;
                                  P: a second socket serving get/watch/health/info, every write refused READ_ONLY;
                                  quarantine/ keeps the newest FILES refused files within BYTES (default 20,67108864)
  get    [PATH] [--json]          print a value (strings raw unless --json)
  set    PATH VALUE [--string] [--if-mod-revision N]
                                  VALUE is parsed as JSON if it parses, else taken as a string
  unset  PATH [--if-mod-revision N]
  dump                            the whole document as JSON
  watch  [PATH] [--no-initial]    one JSON line per change (first the current value unless --no-initial)
  health                          JSON; exit 0 ok, 1 degraded or failing, 3 unreachable
  info                            sidecar and machine facts (OS, kernel, virtualization, container, shell), JSON
  stats  [--prometheus]           counters, latency histograms per op, event-loop delay, health: JSON,
                                  or the Prometheus text format with --prometheus
  backups                         the kept good versions of the file, newest first, JSON
  restore N                       bring backup N (1 = newest) back as a new revision

common options: --socket S, --app NAME, --timeout MS (default 5000), --json (structured errors),
                --expect-owner USER (who must own the socket and its directory; default this user),
                --auto-start (start a sidecar in the background when none answers on the socket)
exit codes: 0 ok, 1 rejected (validation, conflict, not found), 2 usage, 3 sidecar unreachable or timed out
environment: CONFIG_SIDECAR_CONFIG, CONFIG_SIDECAR_SOCKET; serve: NOTIFY_SOCKET, WATCHDOG_USEC (systemd Type=notify)`;
