// The operator patterns of the reference policy ([security.information_disclosure.patterns]), copied here so tests never read ../shared.
export const REFERENCE_PATTERNS: Readonly<Record<string, string>> = Object.freeze({
  api_key_pattern: 'sk-[a-zA-Z0-9]{32,}',
  jwt_pattern: 'eyJ[a-zA-Z0-9_-]+\\.[a-zA-Z0-9_-]+\\.[a-zA-Z0-9_-]+',
  email_pattern: '[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\\.[a-zA-Z]{2,}',
});
