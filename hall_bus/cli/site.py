"""`hallctl site init`: a county site (town centre, village station) set up from the county file in one command."""

from __future__ import annotations

import argparse
from pathlib import Path

SubParsers = argparse._SubParsersAction  # type: ignore[type-arg]


def _site_init(args: argparse.Namespace) -> int:
    from hall_bus.county.sites import load_county
    from hall_bus.county.station import init_site

    county = load_county(args.county)
    template = args.template or args.county.parent / "hall.example.toml"
    st = init_site(county, args.county, args.site, args.out, hub_keys=args.hub_keys, template=template,
                   hub_host=args.hub_host, hub_port=args.hub_port, bus_ports=(args.command_port, args.event_port))
    site = county.site(args.site)
    print(f"{site.name} ({site.code}) is set up in {st.folder}:")
    print(f"  hall file  {st.hall_file}  (check: hallctl config check {st.hall_file})")
    print(f"  keys       {st.keys}  (the county's: keys/county, enrolled at the hub's {args.hub_keys})")
    if st.pins is not None:
        print(f"  PINs       {st.pins}  (hand them out, then delete the file)")
    print(f"start it:    hallctl server --config {st.hall_file} --data {st.data} --keys {st.keys}")
    return 0


def register(sub: SubParsers) -> None:
    site = sub.add_parser("site", help="a county site (town centre, village station): set one up")
    site_sub = site.add_subparsers(dest="site_command", required=True, metavar="ACTION")
    init = site_sub.add_parser("init", help="write a site's hall file, keys and roster from the county file")
    init.add_argument("--county", type=Path, required=True, help="the county file")
    init.add_argument("--site", required=True, help="the site's code in the county file, e.g. PAT01V01")
    init.add_argument("--out", type=Path, required=True, help="the site's folder (new)")
    init.add_argument("--hub-keys", type=Path, default=Path("data/hub-keys"),
                      help="the hub's key directory, where the site's key is enrolled (default data/hub-keys)")
    init.add_argument("--template", type=Path,
                      help="the hall file whose services and groups the site uses (default: hall.example.toml "
                           "beside the county file)")
    init.add_argument("--hub-host", default="127.0.0.1", help="where the site finds the hub (default 127.0.0.1)")
    init.add_argument("--hub-port", type=int, help="the hub's port (default: the county file's [hub] bind)")
    init.add_argument("--command-port", type=int, default=5555)
    init.add_argument("--event-port", type=int, default=5556)
    init.set_defaults(handler=_site_init)
