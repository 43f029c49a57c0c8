// A generated CSV of an ordinary table and a file-source config for it
// (row-group and chunk-worker tests).
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

// An ordinary table: ids, repeating names and statuses, dates, hex tokens.
export async function writeCsv(path, rows) {
  const out = createWriteStream(path);
  out.write('id,customer_id,amount,name,status,order_date,token\n');
  const st = ['new', 'paid', 'shipped', 'closed'];
  let x = 12345;
  let buf = '';
  for (let i = 0; i < rows; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const d = new Date(Date.UTC(2020, 0, 1) + (i % 1500) * 86400000).toISOString().slice(0, 10);
    buf += `${i},${(i * 7919) % 1000003},${((i * 31) % 100000) / 100},customer ${i % 50000},${st[i % 4]},${d},${x.toString(16).padStart(8, '0')}${(x ^ i).toString(16)}\n`;
    if (buf.length > 1 << 16) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await once(out, 'finish');
}

export function fileConfig(csv, { codec = 'zstd', mb = 0, workers = 1 } = {}) {
  return `platform:
  bronze:
    local_path: "./output"
    output_defaults:
      parquet_compression: "${codec}"
source:
  type: "file"
  system: "s"
  table: "t"
  file:
    path: "${csv}"
    format: "csv"
  run:
    write_csv: false
    write_parquet: true
    parallel_workers: ${workers}
${mb ? `    max_file_size_mb: ${mb}\n` : ''}`;
}

