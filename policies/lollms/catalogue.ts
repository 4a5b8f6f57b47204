// The built-in catalogue of LoLLMS routes: generation/read-only vs management, with the advisories each entry covers (docs/lollms.md).
// Data only; compile.ts turns it into lookups once. Paths and CVE ids were read from the lollms-webui / lollms sources and advisories.

export type RouteClass = 'generation' | 'management';

export interface CatalogueEntry {
  /** Stable id, named in audit lines, `explain` and `validate` messages. */
  readonly id: string;
  readonly class: RouteClass;
  readonly title: string;
  /** "METHOD[,METHOD] /path" as LoLLMS serves them; a path ending in "/**" is a prefix whose rest is a file path. */
  readonly routes: readonly string[];
  /** Advisories whose request shapes this entry covers. */
  readonly cves: readonly string[];
  /** Body, form or query fields (at any depth) that hold a path, folder, file or database name. */
  readonly pathFields?: readonly string[];
  /**
   * Fields the server puts into an OS command line (lollms-webui builds `explorer "..."` / `code "..."` strings from
   * them): refused when they hold a shell metacharacter or a quote, on top of the path checks.
   */
  readonly commandFields?: readonly string[];
  /** Fields holding a URL the server fetches: they go through the SSRF guard. */
  readonly urlFields?: readonly string[];
}

export const CATALOGUE: readonly CatalogueEntry[] = [
  // ---- generation and read-only -------------------------------------------------------------
  {
    id: 'openai', class: 'generation', title: 'OpenAI-compatible generation, embeddings and model list',
    routes: ['POST /v1/chat/completions', 'POST /v1/completions', 'POST /v1/embeddings', 'GET /v1/models', 'GET /v1/personalities',
      'POST /v1/tokenize', 'POST /v1/detokenize', 'POST /v1/count_tokens'],
    cves: [],
  },
  {
    id: 'ollama', class: 'generation', title: 'Ollama-compatible generation and model list',
    routes: ['POST /api/chat', 'POST /api/generate', 'GET /api/tags', 'POST /api/embeddings', 'POST /api/embed'],
    cves: [],
  },
  {
    id: 'native-generation', class: 'generation', title: 'LoLLMS native generation, tokenizer and embeddings',
    routes: ['POST /lollms_generate', 'POST /lollms_generate_with_images', 'POST /lollms_tokenize', 'POST /lollms_detokenize',
      'POST /lollms_embed', 'POST /generate', 'POST /stop_gen', 'GET /get_generation_status'],
    cves: [],
  },
  {
    id: 'model-info', class: 'generation', title: 'Model, binding and version information',
    routes: ['GET /list_models', 'GET /get_active_model', 'GET /version', 'GET /get_lollms_version', 'GET /get_current_personality_path_infos'],
    cves: [],
  },
  {
    id: 'personality-listing', class: 'generation', title: 'Personality listing (directory listing through `category`)',
    routes: ['GET /list_personalities', 'GET /list_personalities_categories', 'POST /get_personality'],
    cves: ['CVE-2024-4322'],
    pathFields: ['category', 'name', 'folder'],
  },
  {
    id: 'personality-files', class: 'generation', title: 'Personality and user files served by path',
    routes: ['GET /personalities/**', 'GET /user_infos/**', 'GET /extensions/**', 'GET /outputs/**'],
    cves: ['CVE-2024-1600', 'CVE-2024-4315', 'CVE-2024-4881'],
  },
  // ---- management ---------------------------------------------------------------------------
  {
    id: 'settings', class: 'management', title: 'Settings: apply, update, save, personal path (code execution unlocks)',
    routes: ['POST /apply_settings', 'POST /update_setting', 'POST /save_settings', 'POST /reset_settings',
      'POST /set_personality_config', 'GET,POST /switch_personal_path', 'POST /set_active_binding_settings', 'POST /set_active_personality_settings'],
    cves: ['CVE-2024-2358', 'CVE-2024-2359', 'CVE-2024-2360', 'CVE-2024-2624', 'CVE-2024-4326', 'CVE-2024-5824'],
    pathFields: ['extensions', 'discussion_db_name', 'pdf_latex_path', 'path', 'category', 'name', 'folder', 'personal_path', 'lollms_personal_path', 'setting_value'],
  },
  {
    id: 'extensions', class: 'management', title: 'Extension install, reinstall, mount and unmount',
    routes: ['POST /install_extension', 'POST /reinstall_extension', 'POST /uninstall_extension', 'POST /mount_extension', 'POST /unmount_extension'],
    cves: ['CVE-2024-4320', 'CVE-2024-2356', 'CVE-2024-5443'],
    pathFields: ['name', 'category', 'folder'],
  },
  {
    id: 'bindings-models', class: 'management', title: 'Binding and model install, reinstall, uninstall and references',
    routes: ['POST /install_binding', 'POST /reinstall_binding', 'POST /unInstall_binding', 'POST /reload_binding', 'POST /install_model',
      'POST /install_model_from_path', 'POST /uninstall_model', 'POST /upload_model', 'POST /add_reference_to_local_model', 'POST /select_model'],
    cves: ['CVE-2024-2361', 'CVE-2024-2366', 'CVE-2024-4078', 'CVE-2024-4841', 'CVE-2024-4897'],
    pathFields: ['name', 'path', 'variant_name', 'binding_path', 'model_path', 'folder'],
    urlFields: ['url'],
  },
  {
    id: 'personalities', class: 'management', title: 'Personality mount, select, reinstall, presets',
    routes: ['POST /mount_personality', 'POST /remount_personality', 'POST /unmount_personality', 'POST /select_personality',
      'POST /reinstall_personality', 'POST /copy_to_custom_personas', 'POST /add_preset', 'POST /del_preset'],
    cves: ['CVE-2024-4315'],
    pathFields: ['category', 'folder', 'name', 'language', 'personality_folder'],
  },
  {
    id: 'code-execution', class: 'management', title: 'Code execution',
    routes: ['POST /execute_code'],
    cves: ['CVE-2024-2359', 'CVE-2024-4326'],
  },
  {
    id: 'open-folder-file', class: 'management', title: 'Open folder / open file / open in VS Code (OS command on the host)',
    routes: ['POST /open_file', 'POST /open_folder', 'POST /open_code_folder', 'POST /open_code_folder_in_vs_code', 'POST /open_code_in_vs_code',
      'POST /open_discussion_folder', 'POST /open_personality_folder'],
    cves: ['CVE-2024-1520', 'CVE-2024-4267', 'CVE-2024-6250', 'CVE-2024-6985'],
    pathFields: ['path', 'folder_path', 'personality_folder', 'folder'],
    // CVE-2024-1520 put a command into discussion_id; CVE-2024-4267 into path.
    commandFields: ['path', 'folder_path', 'personality_folder', 'folder', 'discussion_id', 'message_id', 'personality_name'],
  },
  {
    id: 'databases', class: 'management', title: 'Discussion database selection, import and export',
    routes: ['POST /select_database', 'POST /export_multiple_discussions', 'POST /import_multiple_discussions', 'POST /make_discussions_db'],
    cves: ['CVE-2024-1873', 'CVE-2024-2360'],
    pathFields: ['name', 'db_path', 'path', 'discussion_db_name'],
  },
  {
    id: 'uploads', class: 'management', title: 'Uploads: apps, avatars, files',
    routes: ['POST /upload_app', 'POST /upload_avatar', 'POST /upload_file', 'POST /upload_discussion_image', 'POST /send_file'],
    cves: ['CVE-2024-8581', 'CVE-2025-1451'],
    pathFields: ['filename', 'name', 'path', 'client_id'],
  },
  {
    id: 'web-ingestion', class: 'management', title: 'Web page ingestion and fetch proxy (server-side requests)',
    routes: ['POST /add_webpage', 'POST /api/proxy'],
    cves: ['CVE-2024-5482', 'CVE-2026-33340'],
    urlFields: ['url'],
  },
  {
    id: 'file-extraction', class: 'management', title: 'File text extraction and content export (new lollms)',
    routes: ['POST /api/files/extract-text', 'POST /api/files/export-content'],
    cves: ['CVE-2026-0558', 'CVE-2026-0560'],
    pathFields: ['filename', 'path'],
    urlFields: ['url'],
  },
  {
    id: 'restart-shutdown', class: 'management', title: 'Restart, update, shutdown, clear uploads',
    routes: ['GET,POST /restart_program', 'GET,POST /update_software', 'GET,POST /shutdown', 'GET,POST /clear_uploads', 'GET,POST /reboot_lollms'],
    cves: [],
  },
];
