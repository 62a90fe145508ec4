"""/home: the Overview by another name, for a typed or shared /home (the default page lives at /).

The navigation (ui/shell.py) answers /home with pages/overview.py. This file is what a first request to a freshly
started server runs instead (Streamlit's legacy pages/ mode, before the navigation exists; without it /home showed
'Page not found'): ensure_routed() runs the navigation, which renders the Overview, and stops.
"""

from __future__ import annotations

from ui import shell

shell.ensure_routed()
