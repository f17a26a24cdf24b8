import { useMemo, useRef, useState } from 'preact/hooks';
import type { FormatterError, FormatterSuspension, NetworkName, ProfileSettings } from '../../api/types.js';
import { CodeEditor, type EditorHandle, type EditorMark } from '../../components/CodeEditor.js';
import { useApp } from '../../lib/app-context.js';
import { useLoad } from '../../lib/use-load.js';
import { constraintsOf, type JsonSchema } from '../../schema/json-schema.js';
import { CodecExamplesPanel } from './CodecExamplesPanel.js';
import { FormatterTestPanel } from './FormatterTestPanel.js';
import { PendingDeadLetters } from './PendingDeadLetters.js';
import { RecentUplinksPanel } from './RecentUplinksPanel.js';
import { SettingsFields } from './SettingsFields.js';
import { SuspensionNote, where } from './SuspensionNote.js';
import { NOTE_MAX } from './VersionNote.js';
import { VersionsPanel } from './VersionsPanel.js';

type Formatter = ProfileSettings['formatter'];

/** Why the last save was refused, for the script it was refused for. */
export interface ScriptProblem {
  script: string;
  message: string;
  line?: number;
  column?: number;
}

interface Props {
  appId: string;
  /** The profile's network: the test tool's input is that network's uplink report. */
  network: NetworkName;
  schema: JsonSchema;
  fPortSchema: JsonSchema;
  value: Formatter;
  onChange(value: Formatter): void;
  problems: Record<string, string>;
  saveProblem: ScriptProblem | null;
  /** Suspended formatters this profile runs (still in force). */
  suspensions: FormatterSuspension[];
  /** The Default profile: its suspensions, dead letters and recent uplinks are of applications without a profile. */
  isDefault: boolean;
  /** Applications with a profile of their own. */
  ownProfiles: string[];
  /** When the profile was saved last: a save or a restore may have made a formatter version. */
  savedAt: string;
  /** The editor's formatter differs from the saved one: a save makes a version. */
  formatterDirty: boolean;
  /** The note the next save gives the version it makes. */
  versionNote: string;
  onVersionNote(note: string): void;
  /** After a version was restored: load the profile again (the editor shows the restored script). */
  onRestored(): Promise<void>;
  /** A dead letter to load as the test input (`?dead_letter=` in the route). */
  deadLetterId?: number;
}

export function PayloadProcessing(props: Props) {
  const { appId, network, schema, fPortSchema, value, onChange, problems, saveProblem, suspensions, isDefault, ownProfiles, savedAt, formatterDirty } = props;
  const { versionNote, onVersionNote, onRestored, deadLetterId } = props;
  const { api } = useApp();
  const templates = useLoad(api.templates, [api]);
  // The list names the version saved now (the profile list does not).
  const versions = useLoad(() => api.formatterVersions(appId), [api, appId, savedAt]);
  const current = versions.data?.current ?? null;
  // Found among the newest dead letters of the applications this profile runs (there is no single-letter endpoint).
  const deadLetter = useLoad(
    () => (deadLetterId ? api.deadLetters({ ...(isDefault ? {} : { app_id: appId }), limit: 1000 }).then((items) => items.find((l) => l.id === deadLetterId) ?? null) : Promise.resolve(null)),
    [api, appId, deadLetterId],
  );
  const [templateId, setTemplateId] = useState('');
  const [templateNote, setTemplateNote] = useState<string | null>(null);
  const [testErrors, setTestErrors] = useState<{ script: string; errors: FormatterError[] }>({ script: '', errors: [] });
  const editor = useRef<EditorHandle | null>(null);
  const reveal = (line: number, column?: number) => editor.current?.reveal(line, column);

  // Marks belong to the script they were found in; any edit clears them.
  const refused = saveProblem && saveProblem.script === value.script ? saveProblem : null;
  const marks = useMemo<EditorMark[]>(() => {
    const out: EditorMark[] = [];
    if (refused?.line !== undefined) out.push({ line: refused.line, ...(refused.column !== undefined ? { column: refused.column } : {}), message: refused.message });
    if (testErrors.script === value.script) {
      for (const e of testErrors.errors) {
        if (e.line !== undefined) out.push({ line: e.line, ...(e.column !== undefined ? { column: e.column } : {}), message: `${e.kind}: ${e.message}` });
      }
    }
    return out;
  }, [refused, testErrors, value.script]);

  const loadTemplate = () => {
    const t = templates.data?.find((x) => x.id === templateId);
    if (!t) return;
    onChange({ ...value, type: t.type, script: t.script });
    setTemplateNote(`Loaded “${t.name}” (${t.type}). Save to keep it; Ctrl+Z in the editor brings the previous script back.`);
  };

  const scriptSchema = schema.properties?.script ?? {};
  const usesScript = value.type === 'javascript';

  return (
    <div class="payload-grid">
      {suspensions.length > 0 && <SuspensionNote suspensions={suspensions} isDefault={isDefault} />}
      <section class="card" aria-labelledby="formatter-title">
        <header class="card-header">
          <h2 id="formatter-title">Formatter</h2>
          <p class="hint">Thinger style (module.exports.uplink / downlink) or TTS style (decodeUplink / encodeDownlink) JavaScript.</p>
        </header>
        <div class="formatter-toolbar">
          <SettingsFields schema={schema} value={value} path="/formatter" problems={problems} only={['type', 'timeout_ms']} inline onChange={(v) => onChange(v as Formatter)} />
          <div class="template-pick">
            <label class="field-label" for="template">
              Start from a template
            </label>
            <div class="template-controls">
              <select id="template" value={templateId} onChange={(e) => setTemplateId(e.currentTarget.value)} disabled={!templates.data}>
                <option value="">{templates.error ? 'Templates unavailable' : 'Choose a template…'}</option>
                {templates.data?.map((t) => (
                  <option key={t.id} value={t.id} title={t.description}>
                    {t.name}
                  </option>
                ))}
              </select>
              <button type="button" class="btn" disabled={!templateId} onClick={loadTemplate}>
                Load
              </button>
            </div>
            {templateId && <p class="hint">{templates.data?.find((t) => t.id === templateId)?.description}</p>}
          </div>
        </div>
        {templateNote && (
          <p class="notice" role="status">
            {templateNote}
          </p>
        )}
        {refused && (
          <div class="error-note" role="alert">
            <strong>Not saved: the script does not compile.</strong> {refused.message}
            {where(refused.line, refused.column)}
            {refused.line !== undefined && (
              <button type="button" class="link" onClick={() => reveal(refused.line ?? 1, refused.column)}>
                Show line
              </button>
            )}
          </div>
        )}
        <div class="editor-label">
          <span class="field-label">Script</span>
          <span class="constraints">{constraintsOf(scriptSchema)}</span>
        </div>
        {!usesScript && <p class="notice">The {value.type} formatter does not run the script; it is kept for when you switch back to javascript.</p>}
        <CodeEditor
          value={value.script}
          onChange={(script) => onChange({ ...value, script })}
          language="javascript"
          label="Formatter script"
          size="tall"
          marks={marks}
          handle={editor}
        />
        {problems['/formatter/script'] && <p class="field-error">Script {problems['/formatter/script']}</p>}
        {formatterDirty && (
          <div class="version-note-field">
            <label class="field-label" for="version-note">
              Version note
            </label>
            <input
              id="version-note"
              type="text"
              value={versionNote}
              maxLength={NOTE_MAX}
              placeholder="What this change does (optional)"
              aria-describedby="version-note-hint"
              onInput={(e) => onVersionNote(e.currentTarget.value)}
            />
            <p class="hint" id="version-note-hint">
              Names {current === null ? 'the version' : `version ${current + 1}`} the next save makes; shown in Versions below.
            </p>
          </div>
        )}
      </section>
      <PendingDeadLetters appId={appId} isDefault={isDefault} ownProfiles={ownProfiles} savedAt={savedAt} formatterDirty={formatterDirty} />
      <FormatterTestPanel
        // Another network's profile starts from that network's sample.
        key={network}
        appId={appId}
        network={network}
        formatter={value}
        fPortSchema={fPortSchema}
        deadLetter={deadLetterId ? { id: deadLetterId, loaded: deadLetter } : null}
        currentVersion={current}
        onErrors={(errors) => setTestErrors({ script: value.script, errors })}
        onReveal={reveal}
      />
      <RecentUplinksPanel appId={appId} isDefault={isDefault} initialApp={deadLetter.data?.app_id ?? ''} formatter={value} onReveal={reveal} />
      <CodecExamplesPanel appId={appId} formatter={value} onReveal={reveal} />
      <VersionsPanel appId={appId} versions={versions} editorScript={value.script} editorDirty={formatterDirty} onRestored={onRestored} />
    </div>
  );
}
