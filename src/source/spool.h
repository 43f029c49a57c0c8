/*
 * spool.h - sources that learn their types as they go (API pages, extractor
 * commands, plugins) settle them on the whole batch first (SPEC §4 "One
 * schema per batch"): their records are spooled to a JSON Lines file in the
 * job's tmp dir while paging, then read back through the file source, so an
 * API, a command and a JSON Lines file get the very same type inference and
 * widening, with memory bounded by one record, not by the batch.
 *
 *   bronze_spool_create()       a new, empty spool file under ctx->tmp_dir;
 *   bronze_spool_add()          appends one record (a JSON object's text);
 *   bronze_spool_open_reader()  finishes writing and opens the file source
 *                               over the spool (the inner source's vtable is
 *                               bronze_source_file); the spool must outlive it;
 *   bronze_spool_free()         closes and removes the file (if it is not
 *                               gone already: bronze_spool_next() removes it
 *                               once the reader has had every record).
 *   bronze_spool_next()         the inner source's next(), counting chunks.
 *
 * Chunks (the seed's "chunk-level" lines, issue #11 item 7 / #14 item 1): as
 * records are spooled they are cut into chunks, consecutive runs of records
 * of at most max_rows_per_file records and at most max_file_size_mb of
 * spooled JSON (64 MiB without it, a row group's budget), so a chunk is what
 * fits one part file before compression. When the spool is finished it logs
 *   Retrieved N records from extractor
 *   Chunked N records into M chunks (max_file_size_mb=...)
 *   Processing M chunks with W workers            (W: run.parallel_workers)
 * and, at debug, "Chunk K completed successfully" once every record of chunk
 * K has been handed to the encoders (once per chunk, even after a restart);
 * a spooling source sets its vtable's chunk_lines (source.h), so these are
 * the only chunk lines of its run.
 *
 * Live (issue #11 throughput): after bronze_spool_set_live(), the reader may
 * be opened at once and read while another thread still adds records: the
 * adding thread calls bronze_spool_publish() after each page (what it added
 * goes to the spool's writer thread, which writes it and then lets the
 * reader go on to there; pages that come fast are handed over a mebibyte at
 * a time, as one wake-up of each thread is worth more than a page's head
 * start) and bronze_spool_finish() at the end, which logs the three lines
 * above (failed: the reader's reads fail). The reader's
 * widening scan waits for the end. "Chunk K completed" lines come only after
 * "Processing", as before.
 */
#ifndef BRONZE_SOURCE_SPOOL_H
#define BRONZE_SOURCE_SPOOL_H

#include <stdbool.h>
#include <stdint.h>

#include "source/file_json.h"
#include "source/source.h"

typedef struct bronze_spool bronze_spool;

/* name: a short tag for the file name ("api", "command"); never a secret. */
int bronze_spool_create(bronze_spool **out, const bronze_source_ctx *ctx, const char *name,
                        bronze_err *err);
/* json is one JSON object (no newline inside: a serialiser's compact text). */
int bronze_spool_add(bronze_spool *sp, const char *json, size_t n, bronze_err *err);
/* json is one valid JSON object's raw text; a line break in it (whitespace
 * outside strings in valid JSON) becomes a space. breaks: it may hold one
 * (false only when the caller's scan saw none). m[0..nm): its members for
 * the side index (file_json.h; NULL: the reader parses this record). */
int bronze_spool_add_raw(bronze_spool *sp, const char *json, size_t n, bool breaks,
                         const bronze_json_span *m, size_t nm, bronze_err *err);
uint64_t bronze_spool_records(const bronze_spool *sp);
/* A side index of each record's members beside the spool (file_json.h), so
 * the reader does not tokenise again what the writer validated; call before
 * any record is added (and before bronze_spool_set_live). */
int bronze_spool_set_index(bronze_spool *sp, bronze_err *err);
/* Live mode; call before any record is added and before the writer thread
 * starts. */
int bronze_spool_set_live(bronze_spool *sp, bronze_err *err);
/* Writer, live: records added so far may be read (no-op when not live).
 * now: at once (the adding thread is about to wait: a slow page, a pause);
 * else they may wait until a mebibyte has gathered. */
int bronze_spool_publish(bronze_spool *sp, bool now, bronze_err *err);
/* Writer, live: the last record is in (or the writer failed). */
int bronze_spool_finish(bronze_spool *sp, bool failed, bronze_err *err);
/* Opens the file source over the finished spool, or, live, over the spool as
 * it grows (format jsonl, the config's run settings). *inner is closed by the caller with
 * bronze_source_file.close. */
int bronze_spool_open_reader(bronze_spool *sp, bronze_source **inner, bronze_err *err);
/* inner's next() (inner: the reader from bronze_spool_open_reader). */
int bronze_spool_next(bronze_spool *sp, bronze_source *inner, bronze_batch *b, bronze_err *err);
/* What to call a spooled record, in the reader's errors and in its own notes
 * (a record that widens a column: ctx->name_record): name(arg, 7, ...) writes
 * it ("page 2, record 3"); without a call, "record 7". Before
 * bronze_spool_open_reader; name must be safe to call from the reader's
 * thread while records are still added. */
void bronze_spool_set_namer(bronze_spool *sp, bronze_record_namer name, void *arg);
/* The reader's messages name the spool file and a line of it ("<spool>: line
 * 7: field 'a': ..."), which mean nothing to the user; a line is a record, so
 * this puts the record, named as above, in their place. A message that names
 * no spool line is left as it is. */
void bronze_spool_name_record(const bronze_spool *sp, bronze_err *err);
void bronze_spool_free(bronze_spool *sp);

#endif
