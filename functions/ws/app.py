"""The WebSocket API's routes ($connect, $disconnect, subscribe, unsubscribe, ping, $default) and the replay that
$connect invokes; order_engine.api.ws translates their events."""
from order_engine.api import ws

connect = ws.connect
disconnect = ws.disconnect
subscribe = ws.subscribe
unsubscribe = ws.unsubscribe
ping = ws.ping
default = ws.default
replay = ws.replay
