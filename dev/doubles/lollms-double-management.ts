// The LoLLMS double's management routes (lollms-webui and lollms), answering as those servers do: mostly 200 {"status": true}.
// Kept apart from the generation routes so a test notices any of them that leaks through the proxy: the proxy must
// never forward one by default, and each answers here as the unprotected server would.

export interface ManagementReply {
  status: number;
  headers: Record<string, string>;
  chunks: string[];
  stream: boolean;
}

const json = (status: number, value: unknown, headers: Record<string, string> = {}): ManagementReply =>
  ({ status, headers: { 'Content-Type': 'application/json', ...headers }, chunks: [JSON.stringify(value)], stream: false });
const ok = (extra: Record<string, unknown> = {}): (() => ManagementReply) => () => json(200, { status: true, ...extra });

const ROUTES: Record<string, { methods: readonly string[]; handle: () => ManagementReply }> = {
  '/apply_settings': { methods: ['POST'], handle: ok() },
  '/update_setting': { methods: ['POST'], handle: ok() },
  '/save_settings': { methods: ['POST'], handle: ok() },
  '/reset_settings': { methods: ['POST'], handle: ok() },
  '/set_personality_config': { methods: ['POST'], handle: ok() },
  '/switch_personal_path': { methods: ['GET', 'POST'], handle: ok() },
  '/install_extension': { methods: ['POST'], handle: ok() },
  '/reinstall_extension': { methods: ['POST'], handle: ok() },
  '/mount_extension': { methods: ['POST'], handle: ok() },
  '/unmount_extension': { methods: ['POST'], handle: ok() },
  '/install_binding': { methods: ['POST'], handle: ok() },
  '/reinstall_binding': { methods: ['POST'], handle: ok() },
  '/unInstall_binding': { methods: ['POST'], handle: ok() },
  '/install_model': { methods: ['POST'], handle: ok() },
  '/add_reference_to_local_model': { methods: ['POST'], handle: ok() },
  '/mount_personality': { methods: ['POST'], handle: ok() },
  '/del_preset': { methods: ['POST'], handle: ok() },
  '/execute_code': { methods: ['POST'], handle: ok({ output: 'executed', execution_time: 0 }) },
  '/open_file': { methods: ['POST'], handle: ok({ execution_time: 0 }) },
  '/open_code_folder': { methods: ['POST'], handle: ok({ execution_time: 0 }) },
  '/open_code_in_vs_code': { methods: ['POST'], handle: ok({ execution_time: 0 }) },
  '/open_personality_folder': { methods: ['POST'], handle: ok() },
  '/select_database': { methods: ['POST'], handle: ok() },
  '/upload_app': { methods: ['POST'], handle: ok() },
  '/add_webpage': { methods: ['POST'], handle: ok() },
  '/api/proxy': { methods: ['POST'], handle: () => json(200, { content: '<html>fetched</html>' }) },
  '/api/files/extract-text': { methods: ['POST'], handle: () => json(200, { text: 'extracted' }) },
  '/api/files/export-content': { methods: ['POST'], handle: () => json(200, { status: true }) },
  '/restart_program': { methods: ['GET', 'POST'], handle: ok() },
  '/list_personalities': { methods: ['GET'], handle: () => json(200, ['personality_a', 'personality_b']) },
};

/** Files served by path, as /personalities/<path> does. */
const FILE_PREFIXES = ['/personalities/', '/user_infos/'];

/** The double's answer for a management or file route, or undefined when the path is none of them. */
export function managementReply(method: string, pathname: string): ManagementReply | undefined {
  const rt = ROUTES[pathname];
  if (rt) return rt.methods.includes(method) ? rt.handle() : json(405, { detail: 'Method Not Allowed' }, { Allow: rt.methods.join(', ') });
  if (FILE_PREFIXES.some((p) => pathname.startsWith(p))) {
    return { status: 200, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, chunks: ['file contents'], stream: false };
  }
  return undefined;
}
