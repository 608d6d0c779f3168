package update

import "strings"

// unitTemplate is the systemd unit of a terminal; scripts/posfw.service is it with the
// default paths (a test keeps the two equal).
//
// Type=notify: posfw says READY=1 once its screen and journal are up, and feeds the
// watchdog (WatchdogSec) only while its UI loop and journal writer beat (Watchdog).
// Restart=always with no start limit: a crash, a hang or a failed health check ends in a
// restart, which the launcher counts for a slot on trial. TimeoutStartSec covers the
// launcher's health check (POSFW_HEALTH_TIMEOUT, 120 s) and the start.
const unitTemplate = `[Unit]
Description=posfw payment terminal
Documentation=file://@ROOT@/README
After=local-fs.target time-sync.target
StartLimitIntervalSec=0

[Service]
Type=notify
NotifyAccess=main
ExecStart=@ROOT@/launch run --config @CONFIG@ --data @DATA@
Environment=POSFW_HEALTH_TIMEOUT=120
Restart=always
RestartSec=2s
TimeoutStartSec=180s
WatchdogSec=30s
User=posfw
Group=posfw
SupplementaryGroups=dialout gpio video input
UMask=0077
LimitCORE=0
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths=@ROOT@ @DATA@
ProtectHome=yes
PrivateTmp=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
SystemCallArchitectures=native
CapabilityBoundingSet=

[Install]
WantedBy=multi-user.target
`

// Unit is the systemd unit for an install root, configuration file and data directory.
func Unit(root, config, data string) string {
	return strings.NewReplacer("@ROOT@", root, "@CONFIG@", config, "@DATA@", data).Replace(unitTemplate)
}
