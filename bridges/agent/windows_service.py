"""Run the bridge agent as a Windows service with pywin32 (alternative: NSSM, see README.md).

    pip install pywin32
    python -m bridges.agent.windows_service --startup auto install
    python -m bridges.agent.windows_service start

The service reads its command line from the registry value written at install time:
    HKLM\\SYSTEM\\CurrentControlSet\\Services\\FourPassBridgeAgent\\Parameters\\AgentArgs
e.g. "--host 0.0.0.0 --port 8740 --node-id win-eu-1 --secret-file C:\\4pass\\node.secret --backend mt5 ..."
"""

from __future__ import annotations

import shlex
import sys
import threading

SERVICE_NAME = "FourPassBridgeAgent"
SERVICE_DISPLAY_NAME = "4pass bridge agent"
PARAMETERS_KEY = rf"SYSTEM\CurrentControlSet\Services\{SERVICE_NAME}\Parameters"

try:  # pywin32 exists only on Windows
    import winreg

    import servicemanager
    import win32event
    import win32service
    import win32serviceutil
except ImportError:  # pragma: no cover - exercised only on Windows
    win32serviceutil = None


def agent_arguments() -> list[str]:
    with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, PARAMETERS_KEY) as key:
        value, _ = winreg.QueryValueEx(key, "AgentArgs")
    return shlex.split(value, posix=False)


if win32serviceutil is not None:  # pragma: no cover

    class BridgeAgentService(win32serviceutil.ServiceFramework):
        _svc_name_ = SERVICE_NAME
        _svc_display_name_ = SERVICE_DISPLAY_NAME
        _svc_description_ = "Drives broker terminals (MetaTrader 5, DLL APIs) for 4pass over a signed HTTP protocol."

        def __init__(self, args: list[str]) -> None:
            super().__init__(args)
            self._stop_event = win32event.CreateEvent(None, 0, 0, None)
            self._server = None

        def SvcStop(self) -> None:
            self.ReportServiceStatus(win32service.SERVICE_STOP_PENDING)
            if self._server is not None:
                threading.Thread(target=self._server.shutdown, daemon=True).start()
            win32event.SetEvent(self._stop_event)

        def SvcDoRun(self) -> None:
            from bridges.agent.__main__ import build_parser, build_server

            servicemanager.LogInfoMsg(f"{SERVICE_NAME} starting")
            self._server = build_server(build_parser().parse_args(agent_arguments()))
            try:
                self._server.serve_forever(poll_interval=0.5)
            finally:
                self._server.agent.manager.shutdown()
                self._server.server_close()
                servicemanager.LogInfoMsg(f"{SERVICE_NAME} stopped")


def main() -> None:
    if win32serviceutil is None:
        raise SystemExit("the Windows service wrapper needs Windows and pywin32 (pip install pywin32)")
    win32serviceutil.HandleCommandLine(BridgeAgentService)  # pragma: no cover


if __name__ == "__main__":
    main()
    sys.exit(0)
