package main

// The zone database is compiled in (+404 KB stripped): terminal images often have no
// /usr/share/zoneinfo, and a terminal whose configured zone cannot load would refuse
// its configuration (firmware/config: timezone).
import _ "time/tzdata"
