// XML 1.0 escaping. Characters XML 1.0 cannot carry at all (most C0 controls, lone
// surrogates, U+FFFE/U+FFFF) are written as visible \xNN / \uNNNN text instead.

function replaceIllegal(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        out += s[i] + s[i + 1];
        i++;
        continue;
      }
    }
    const legal =
      c === 0x9 || c === 0xa || c === 0xd || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd);
    if (legal) out += s[i];
    else out += c <= 0xff ? `\\x${c.toString(16).padStart(2, '0')}` : `\\u${c.toString(16).padStart(4, '0')}`;
  }
  return out;
}

export function xmlText(s: string): string {
  return replaceIllegal(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Attribute values also keep their newlines and tabs, which parsers would otherwise normalise away. */
export function xmlAttr(s: string): string {
  return xmlText(s)
    .replace(/"/g, '&quot;')
    .replace(/\n/g, '&#10;')
    .replace(/\r/g, '&#13;')
    .replace(/\t/g, '&#9;');
}

export function element(name: string, attrs: Record<string, string | number | null>, body: string | null): string {
  const a = Object.entries(attrs)
    .filter((e): e is [string, string | number] => e[1] !== null)
    .map(([k, v]) => ` ${k}="${xmlAttr(String(v))}"`)
    .join('');
  return body === null ? `<${name}${a}/>` : `<${name}${a}>${body}</${name}>`;
}

/** An XML comment body cannot contain "--" or end with "-". */
export function xmlComment(s: string): string {
  return `<!-- ${replaceIllegal(s).replace(/--/g, '- -').replace(/-$/, '- ')} -->`;
}
