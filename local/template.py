"""Reads the SAM template (template.yaml) into the facts the local stack needs: each function with its code,
handler, limits and environment, its HTTP API routes and schedules, and the WebSocket API's routes.

The same file that `sam deploy` reads is read here (through local/cloudformation.py, the template language), so
the local wiring cannot drift from the deployed one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from local.cloudformation import LOCAL_ACCOUNT_ID, LOCAL_REGION, LOCAL_STACK_NAME, Resolver, load_yaml


@dataclass(frozen=True)
class Authorizer:
    """A Lambda authorizer of an HTTP API (SAM's Auth.Authorizers) or a WebSocket API (AWS::ApiGatewayV2::Authorizer)."""

    name: str
    function: str  # logical id of the authorizer function
    payload_version: str = "2.0"  # HTTP APIs: "1.0" or "2.0"; WebSocket authorizers are "1.0"-shaped
    simple_responses: bool = False  # HTTP APIs with payload 2.0: {"isAuthorized", "context"} instead of a policy
    identity_sources: tuple[str, ...] = ()  # "$request.header.X" / "route.request.querystring.Y"; all must be present
    ttl_s: int = 0  # the gateway's cache of the authorizer's answer per identity (0: none)


@dataclass(frozen=True)
class HttpRoute:
    """One HttpApi event: `routeKey` is what API Gateway calls it, e.g. "POST /api/orders/execute"."""

    method: str
    path: str
    function: str  # logical id
    event_name: str = ""
    authorizer: Authorizer | None = None  # None: the route is open (Auth: Authorizer: NONE, or the API has none)

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def catch_all(self) -> bool:
        """An ANY route: it only brings a path's other methods to the function, which answers them 405."""
        return self.method == "ANY"


@dataclass(frozen=True)
class Schedule:
    """One Schedule (EventBridge) event of a function."""

    function: str
    name: str
    expression: str  # "rate(1 minute)" or "cron(...)"
    enabled: bool = True
    input: Any = None


@dataclass(frozen=True)
class Function:
    """An AWS::Serverless::Function with Globals applied and intrinsic values resolved for the local stack."""

    logical_id: str
    function_name: str
    code_uri: Path
    handler: str
    runtime: str = "python3.11"
    timeout: int = 3
    memory_size: int = 128
    reserved_concurrency: int | None = None
    environment: dict[str, Any] = field(default_factory=dict)  # name -> template value (maybe intrinsic)
    http_routes: tuple[HttpRoute, ...] = ()
    schedules: tuple[Schedule, ...] = ()

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:function:{self.function_name}"

    @property
    def environment_names(self) -> list[str]:
        return list(self.environment)


@dataclass(frozen=True)
class WebSocketRoute:
    route_key: str  # "$connect", "$disconnect", "$default", "subscribe", ...
    function: str | None  # logical id of the integrated function
    authorizer: Authorizer | None = None  # on $connect only (AuthorizationType: CUSTOM)


@dataclass(frozen=True)
class WebSocketApi:
    logical_id: str
    name: str
    route_selection_expression: str
    routes: tuple[WebSocketRoute, ...] = ()

    def route(self, key: str) -> WebSocketRoute | None:
        return next((r for r in self.routes if r.route_key == key), None)


@dataclass(frozen=True)
class Template:
    path: Path
    stack_name: str
    parameters: dict[str, Any]
    functions: dict[str, Function]  # by logical id
    websocket_apis: tuple[WebSocketApi, ...] = ()
    resources: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def http_routes(self) -> list[HttpRoute]:
        return [r for f in self.functions.values() for r in f.http_routes]

    @property
    def served_http_routes(self) -> set[str]:
        """The route keys the API serves (its ANY catch-alls left out)."""
        return {r.route_key for r in self.http_routes if not r.catch_all}

    @property
    def authorizers(self) -> set[str]:
        """The logical ids of the functions the template's APIs use as Lambda authorizers."""
        found = {r.authorizer.function for r in self.http_routes if r.authorizer is not None}
        return found | {r.authorizer.function for api in self.websocket_apis for r in api.routes if r.authorizer}

    @property
    def schedules(self) -> list[Schedule]:
        return [s for f in self.functions.values() for s in f.schedules]

    @property
    def websocket_api(self) -> WebSocketApi | None:
        return self.websocket_apis[0] if self.websocket_apis else None

    def function(self, name: str) -> Function | None:
        """By logical id, FunctionName, or (partial) ARN, as Lambda's Invoke API accepts."""
        name = name.split(":function:")[-1].split(":")[0] if ":" in name else name
        if name in self.functions:
            return self.functions[name]
        return next((f for f in self.functions.values() if f.function_name == name), None)


def _merge_globals(global_props: Mapping[str, Any], props: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(global_props)
    for key, value in props.items():
        if key == "Environment" and key in merged:
            variables = {**(merged[key].get("Variables") or {}), **(value.get("Variables") or {})}
            merged[key] = {"Variables": variables}
        else:
            merged[key] = value
    return merged


def _function_of(arn: Any) -> str:
    """The logical id in a FunctionArn written as !GetAtt Fn.Arn (or !Sub "${Fn.Arn}")."""
    if isinstance(arn, dict) and "Fn::GetAtt" in arn:
        return str(arn["Fn::GetAtt"][0])
    match = re.search(r"\$\{(\w+)\.Arn\}", str(arn.get("Fn::Sub") if isinstance(arn, dict) else arn))
    return match.group(1) if match else str(arn)


def _http_authorizers(resources: Mapping[str, Any], resolver: "Resolver") -> dict[str, tuple[str | None, dict[str, Authorizer]]]:
    """Per AWS::Serverless::HttpApi: its default authorizer's name and its Lambda authorizers by name."""
    apis = {}
    for api_id, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::HttpApi":
            continue
        auth = (resource.get("Properties") or {}).get("Auth") or {}
        found = {}
        for name, spec in (auth.get("Authorizers") or {}).items():
            if "FunctionArn" not in spec:
                continue  # a JWT authorizer: not emulated
            identity = spec.get("Identity") or {}
            sources = [f"$request.header.{h}" for h in identity.get("Headers") or []]
            sources += [f"$request.querystring.{q}" for q in identity.get("QueryStrings") or []]
            found[name] = Authorizer(
                name=name, function=_function_of(spec["FunctionArn"]),
                payload_version=str(spec.get("AuthorizerPayloadFormatVersion", "2.0")),
                simple_responses=bool(spec.get("EnableSimpleResponses", False)),
                identity_sources=tuple(sources), ttl_s=int(resolver.resolve(identity.get("ReauthorizeEvery", 300))))
        apis[api_id] = (auth.get("DefaultAuthorizer"), found)
    return apis


def _http_routes(logical_id: str, events: Mapping[str, Any],
                 authorizers: Mapping[str, tuple[str | None, dict[str, Authorizer]]] | None = None) -> tuple[HttpRoute, ...]:
    routes = []
    for name, event in events.items():
        if event.get("Type") != "HttpApi":
            continue
        props = event.get("Properties") or {}
        method = str(props.get("Method", "ANY")).upper()
        path = props.get("Path")
        api = props.get("ApiId")
        default, named = (authorizers or {}).get(api.get("Ref") if isinstance(api, dict) else str(api), (None, {}))
        chosen = ((props.get("Auth") or {}).get("Authorizer")) or default
        authorizer = None if chosen in (None, "NONE") else named.get(chosen)
        if path is None:  # an HttpApi event with neither Path nor Method is the API's $default route
            routes.append(HttpRoute("$default", "", logical_id, name, authorizer))
        else:
            routes.append(HttpRoute("ANY" if method in ("*", "X-AMAZON-APIGATEWAY-ANY-METHOD") else method,
                                    path, logical_id, name, authorizer))
    return tuple(routes)


def _schedules(logical_id: str, events: Mapping[str, Any], resolver: Resolver) -> tuple[Schedule, ...]:
    schedules = []
    for name, event in events.items():
        if event.get("Type") not in ("Schedule", "ScheduleV2"):
            continue
        props = resolver.resolve(event.get("Properties") or {})
        expression = props.get("Schedule") or props.get("ScheduleExpression")
        enabled = props.get("Enabled", True) is not False and props.get("State", "ENABLED") != "DISABLED"
        payload = props.get("Input")
        schedules.append(Schedule(logical_id, name, str(expression), enabled, payload))
    return tuple(schedules)


def _integration_function(integration: Mapping[str, Any], resolver: Resolver, functions: Mapping[str, Any]) -> str | None:
    """The logical id of the Lambda function behind an AWS::ApiGatewayV2::Integration's IntegrationUri."""
    uri = (integration.get("Properties") or {}).get("IntegrationUri")
    match = re.search(r":function:([^/:]+)", str(resolver.resolve(uri)))
    if match:
        for logical_id, resource in functions.items():
            name = resolver.resolve((resource.get("Properties") or {}).get("FunctionName")) or logical_id
            if name == match.group(1):
                return logical_id
    return None


def _websocket_apis(resources: Mapping[str, Any], resolver: Resolver, functions: Mapping[str, Any]) -> tuple[WebSocketApi, ...]:
    apis = []
    for api_id, api in resources.items():
        props = api.get("Properties") or {}
        if api.get("Type") != "AWS::ApiGatewayV2::Api" or props.get("ProtocolType") != "WEBSOCKET":
            continue
        routes = []
        for resource in resources.values():
            rprops = resource.get("Properties") or {}
            if resource.get("Type") != "AWS::ApiGatewayV2::Route" or rprops.get("ApiId") != {"Ref": api_id}:
                continue
            target = str(resolver.resolve(rprops.get("Target", "")))
            integration_id = target.split("integrations/", 1)[-1] if "integrations/" in target else None
            integration = resources.get(integration_id or "", {})
            function = _integration_function(integration, resolver, functions) if integration else None
            authorizer = None
            if rprops.get("AuthorizationType") == "CUSTOM":
                authorizer_id = (rprops.get("AuthorizerId") or {}).get("Ref")
                aprops = (resources.get(authorizer_id or "") or {}).get("Properties") or {}
                function_id = _integration_function({"Properties": {"IntegrationUri": aprops.get("AuthorizerUri")}},
                                                    resolver, functions)
                if function_id is not None:
                    authorizer = Authorizer(name=str(authorizer_id), function=function_id, payload_version="1.0",
                                            identity_sources=tuple(aprops.get("IdentitySource") or ()))
            routes.append(WebSocketRoute(str(rprops.get("RouteKey")), function, authorizer))
        apis.append(WebSocketApi(
            logical_id=api_id,
            name=str(resolver.resolve(props.get("Name", api_id))),
            route_selection_expression=str(props.get("RouteSelectionExpression", "$request.body.action")),
            routes=tuple(routes),
        ))
    return tuple(apis)


def load_template(path: str | Path, stack_name: str = LOCAL_STACK_NAME,
                  parameter_overrides: Mapping[str, Any] | None = None) -> Template:
    """Parse a SAM template. CodeUri paths are resolved relative to the template's folder."""
    path = Path(path).resolve()
    doc = load_yaml(path.read_text())
    resources: dict[str, Any] = doc.get("Resources") or {}
    parameters = {name: spec.get("Default") for name, spec in (doc.get("Parameters") or {}).items()}
    parameters.update(parameter_overrides or {})
    resolver = Resolver(resources, parameters, stack_name)
    global_props = ((doc.get("Globals") or {}).get("Function")) or {}

    sam_functions = {lid: r for lid, r in resources.items() if r.get("Type") == "AWS::Serverless::Function"}
    http_authorizers = _http_authorizers(resources, resolver)
    functions: dict[str, Function] = {}
    for logical_id, resource in sam_functions.items():
        props = _merge_globals(global_props, resource.get("Properties") or {})
        events = props.get("Events") or {}
        reserved = resolver.resolve(props.get("ReservedConcurrentExecutions"))
        functions[logical_id] = Function(
            logical_id=logical_id,
            function_name=str(resolver.resolve(props.get("FunctionName")) or logical_id),
            code_uri=(path.parent / str(resolver.resolve(props.get("CodeUri", ".")))).resolve(),
            handler=str(props.get("Handler", "app.handler")),
            runtime=str(props.get("Runtime", "python3.11")),
            timeout=int(resolver.resolve(props.get("Timeout", 3))),
            memory_size=int(resolver.resolve(props.get("MemorySize", 128))),
            reserved_concurrency=None if reserved is None else int(reserved),
            environment=dict(((props.get("Environment") or {}).get("Variables")) or {}),
            http_routes=_http_routes(logical_id, events, http_authorizers),
            schedules=_schedules(logical_id, events, resolver),
        )
    return Template(
        path=path,
        stack_name=stack_name,
        parameters=parameters,
        functions=functions,
        websocket_apis=_websocket_apis(resources, resolver, sam_functions),
        resources=resources,
    )


def resolve_environment(template: Template, function: Function, settings_env: Mapping[str, str]) -> dict[str, str]:
    """The values of the variables a function declares: the stack's setting of the same name wins, then the
    template's value with its intrinsics resolved (a !Ref to a parameter takes the stack's value of the variable
    it feeds, so `DATABASE_URL: !Ref DatabaseUrl` is the local DATABASE_URL)."""
    resolver = Resolver(template.resources, template.parameters, template.stack_name)
    env: dict[str, str] = {}
    for name, value in function.environment.items():
        if name in settings_env:
            env[name] = settings_env[name]
            continue
        resolved = resolver.resolve(value)
        if resolved is not None:
            env[name] = str(resolved)
    return env
