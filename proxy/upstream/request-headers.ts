// What goes upstream of the client's headers: none that describe its connection or carry its credentials.
import type { IncomingHttpHeaders } from 'node:http';
import type { CompiledPolicy } from '../../kernel/policy.js';
import type { RequestContext } from '../../kernel/context.js';
import { OVERRIDE_HEADERS } from '../method-override.js';
import { connectionTokens, type HeaderJudge } from '../response/headers.js';

/**
 * Headers that describe one connection, never the message (RFC 9110 7.6.1), plus credentials of the client: its
 * key for this proxy, and the headers providers read keys from (Azure OpenAI `api-key`, Gemini `x-goog-api-key`,
 * Azure API Management and Functions, AWS session tokens), which reached the upstream before (black-box round 12).
 */
const DROP_REQUEST = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect', 'authorization', 'x-api-key', 'cookie', 'forwarded', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-real-ip', 'accept-encoding',
  'api-key', 'x-goog-api-key', 'ocp-apim-subscription-key', 'x-functions-key', 'x-amz-security-token', 'x-auth-token', 'x-access-token'];
/** Request headers whose values are never a credential: not judged (SDK telemetry, content negotiation, tracing). */
const NOT_JUDGED = new Set(['host', 'content-type', 'content-length', 'accept', 'accept-language', 'user-agent', 'x-request-id', 'traceparent', 'tracestate', 'origin']);
/** Headers the proxy itself sets or vouches for: a client listing them in Connection cannot strip them. */
const KEEP_REQUEST = new Set(['host', 'content-type', 'content-length', 'x-request-id', 'traceparent']);

export type HeaderRewrite = (h: IncomingHttpHeaders, ctx: RequestContext, bodyLength: number, method: string | undefined) => void;

/** Rewrites the request's headers in place for the upstream; the values that do not vary are fixed here. */
export function createRequestHeaders(policy: CompiledPolicy, deps: { upstreamKey: string | undefined; tls: boolean; judgeRequestHeader?: HeaderJudge }): HeaderRewrite {
  const judge = deps.judgeRequestHeader;
  const bearer = deps.upstreamKey ? `Bearer ${deps.upstreamKey}` : undefined;
  const trusted = policy.raw.server.trust_proxy.length > 0;
  const proto = deps.tls ? 'https' : 'http';
  return (h, ctx, bodyLength, method) => {
    const inboundXff = h['x-forwarded-for'];
    const inboundProto = h['x-forwarded-proto'];
    for (const name of connectionTokens(h.connection)) if (!KEEP_REQUEST.has(name)) delete h[name];
    for (const name of DROP_REQUEST) delete h[name];
    for (const name of OVERRIDE_HEADERS) delete h[name];
    // With redact_requests, any other header whose value holds a secret stays here, whole (the audit names it).
    if (judge) {
      for (const [name, value] of Object.entries(h)) {
        if (NOT_JUDGED.has(name) || name.startsWith('x-stainless-') || name.startsWith('sec-') || value === undefined) continue;
        if (Array.isArray(value) ? value.some((v) => judge(name, v, ctx)) : judge(name, value, ctx)) delete h[name];
      }
    }
    // A trusted proxy in front: its chain is kept and the peer appended; otherwise the chain starts here.
    const behindTrusted = trusted && ctx.peerIp !== ctx.clientIp;
    h['x-forwarded-for'] = behindTrusted && typeof inboundXff === 'string' ? `${inboundXff}, ${ctx.peerIp}` : ctx.clientIp;
    h['x-forwarded-proto'] = behindTrusted && typeof inboundProto === 'string' ? inboundProto : proto;
    h['accept-encoding'] = 'identity';
    if (bearer) h.authorization = bearer;
    if (bodyLength > 0 || method === 'POST' || method === 'PUT' || method === 'PATCH') h['content-length'] = String(bodyLength);
    else delete h['content-length'];
  };
}
