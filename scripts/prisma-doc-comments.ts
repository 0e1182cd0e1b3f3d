/**
 * Turns the `///` docs of prisma/schema.prisma into SQL `COMMENT ON` statements, so the
 * descriptions analysts read in psql or their BI tool come from the same place as the schema.
 */
import { readFileSync } from 'node:fs';

/** Prisma's JS schema engine splits migration scripts on every `;`, even inside quotes. */
function sqlString(text: string): string {
  if (text.includes(';')) throw new Error(`a /// doc may not contain ';' (Prisma splits SQL on it): ${text}`);
  return `'${text.replaceAll("'", "''")}'`;
}

export function docCommentsSql(schemaPath = 'prisma/schema.prisma'): string {
  const lines = readFileSync(schemaPath, 'utf8').split('\n');
  const out: string[] = [];
  let docs: string[] = [];
  let model: { table: string; doc: string; columns: [string, string][] } | undefined;
  for (const raw of lines) {
    const line = raw.trim();
    if (line.startsWith('///')) {
      docs.push(line.slice(3).trim());
      continue;
    }
    const modelStart = /^model (\w+) \{/.exec(line);
    if (modelStart) {
      model = { table: modelStart[1] as string, doc: docs.join(' '), columns: [] };
    } else if (model && line === '}') {
      out.push(`COMMENT ON TABLE "${model.table}" IS ${sqlString(model.doc)};`);
      for (const [column, doc] of model.columns) {
        out.push(`COMMENT ON COLUMN "${model.table}"."${column}" IS ${sqlString(doc)};`);
      }
      model = undefined;
    } else if (model) {
      const tableMap = /^@@map\("([^"]+)"\)/.exec(line);
      if (tableMap) model.table = tableMap[1] as string;
      const field = /^(\w+)\s+\S+/.exec(line);
      if (field && docs.length > 0) {
        const column = /@map\("([^"]+)"\)/.exec(line)?.[1] ?? (field[1] as string);
        model.columns.push([column, docs.join(' ')]);
      }
    }
    docs = [];
  }
  return out.join('\n');
}
