import { defineInputFields, defineSearch } from 'zapier-platform-core';
import type { Bundle, InferInputData, ZObject } from 'zapier-platform-core';

import { apiFor } from '../client';
import { MOMENT_HELP, readMoment, zoneOfBundle } from '../dates';
import { emailField, invalid, isoTime, readChoice, readEmail, readText } from '../fields';
import { readUsage } from '../records';
import type { UsageRow } from '../records';
import { STEPS, onlyOn } from '../providers';

const FIND_USAGE = 'find_usage';
const LABEL = 'Find Usage';

/** The services the usage report knows: the `Service` enum of the admin API's OpenAPI document. */
type Service = 'search' | 'browser';

/** What `email` and `service` say in the result when the search covers every one of them. */
const ALL_USERS = 'all users';
const ALL_SERVICES = 'all services';

const SERVICE_CHOICES = [
  { value: 'search', label: 'Search', sample: 'search' },
  { value: 'browser', label: 'Browser', sample: 'browser' },
] as const satisfies readonly { value: Service; label: string; sample: string }[];

const inputFields = defineInputFields([
  {
    ...emailField,
    required: false,
    helpText:
      'The user whose usage to total; upper and lower case do not matter. Leave empty to total every user\'s usage on your site (the result\'s Email then says "all users").',
  },
  {
    key: 'from',
    label: 'From',
    // Text, not datetime: Zapier would give a date 09:00 and an unreadable value "now" (dates.ts).
    type: 'string',
    required: true,
    placeholder: 'yesterday',
    helpText: `Start of the period, included: ${MOMENT_HELP}. Read in your Zap's time zone unless it has an offset; a date starts at midnight. The report counts whole hours: an hour that overlaps the period counts in full.`,
  },
  {
    key: 'to',
    label: 'To',
    type: 'string',
    required: true,
    placeholder: 'now',
    helpText:
      'End of the period, included, after From, in the same forms: a date ends at the last second of that day, so From `yesterday` and To `yesterday` are the whole of yesterday.',
  },
  {
    key: 'service',
    label: 'Service',
    type: 'string',
    required: false,
    choices: [...SERVICE_CHOICES],
    helpText: 'Count only the calls to this service. Leave empty to count every service.',
  },
]);

type Input = InferInputData<typeof inputFields>;

interface UsageTotals {
  email: string;
  service: string;
  from: string;
  to: string;
  /** Accounts with any usage in the period. */
  users: number;
  calls: number;
  failedCalls: number;
  credits: number;
  searchCalls: number;
  searchFailedCalls: number;
  searchCredits: number;
  browserCalls: number;
  browserFailedCalls: number;
  browserCredits: number;
}

interface Tally {
  calls: number;
  failedCalls: number;
  credits: number;
}

const tally = (rows: readonly UsageRow[]): Tally =>
  rows.reduce(
    (sum, row) => ({
      calls: sum.calls + row.calls,
      failedCalls: sum.failedCalls + (row.result === 'success' ? 0 : row.calls),
      credits: sum.credits + row.credits,
    }),
    { calls: 0, failedCalls: 0, credits: 0 },
  );

/** From and To, checked before any request, read in the Zap's time zone (see dates.ts). */
const readPeriod = (z: ZObject, bundle: Bundle<Input>): { from: Date; to: Date } => {
  const zone = zoneOfBundle(bundle);
  const now = Date.now();
  const from = readMoment(z, bundle.inputData.from, 'From', { zone, edge: 'start', now });
  const to = readMoment(z, bundle.inputData.to, 'To', { zone, edge: 'end', now });
  if (from === undefined || to === undefined) {
    throw invalid(
      z,
      from === undefined ? 'From' : 'To',
      'is empty. Type or map a date, such as "2025-06-01" or "yesterday", or a date and time.',
    );
  }
  if (to.getTime() <= from.getTime()) {
    throw invalid(
      z,
      'To',
      `${isoTime(to)} is not after From (${isoTime(from)}); the period must end after it starts.`,
    );
  }
  if (from.getTime() > now) {
    throw invalid(z, 'From', `${isoTime(from)} is in the future, where there is no usage yet.`);
  }
  return { from, to };
};

const perform = async (z: ZObject, bundle: Bundle<Input>): Promise<UsageTotals[]> => {
  const api = apiFor(z, bundle, LABEL, STEPS.findUsage.routes);
  const input = bundle.inputData;
  const email = readText(input.email) === undefined ? undefined : readEmail(z, input.email);
  const { from, to } = readPeriod(z, bundle);
  const service = readChoice(z, input.service, 'Service', SERVICE_CHOICES);

  const answer = await api.call('usageReport', {
    params: {
      from: isoTime(from),
      to: isoTime(to),
      by: 'total',
      ...(email === undefined ? {} : { email }),
      ...(service === undefined ? {} : { service }),
    },
  });
  const rows = readUsage(z, answer);
  // The API may add services; they count in the totals, not in a per-service column.
  const of = (name: Service): Tally => tally(rows.filter((row) => row.service === name));
  const search = of('search');
  const browser = of('browser');
  const total = tally(rows);
  // Searches always return their one result, zeros included: "no usage" is an answer too.
  return [
    {
      email: email?.toLowerCase() ?? ALL_USERS,
      service: service ?? ALL_SERVICES,
      from: isoTime(from),
      to: isoTime(to),
      users: new Set(rows.map((row) => row.email.toLowerCase())).size,
      calls: total.calls,
      failedCalls: total.failedCalls,
      credits: total.credits,
      searchCalls: search.calls,
      searchFailedCalls: search.failedCalls,
      searchCredits: search.credits,
      browserCalls: browser.calls,
      browserFailedCalls: browser.failedCalls,
      browserCredits: browser.credits,
    },
  ];
};

const sample = {
  email: 'jane.doe@example.com',
  service: ALL_SERVICES,
  from: '2025-06-01T00:00:00Z',
  to: '2025-06-30T23:59:59Z',
  users: 1,
  calls: 1250,
  failedCalls: 12,
  credits: 1480,
  searchCalls: 1000,
  searchFailedCalls: 10,
  searchCredits: 980,
  browserCalls: 250,
  browserFailedCalls: 2,
  browserCredits: 500,
} satisfies UsageTotals;

export const findUsage = defineSearch({
  key: FIND_USAGE,
  noun: 'Usage',
  display: {
    label: LABEL,
    description: `Finds the API calls and credits a user, or every user, consumed in a period, in total and per service.${onlyOn(STEPS.findUsage.routes)}`,
  },
  operation: {
    inputFields,
    perform,
    sample,
    outputFields: [
      { key: 'email', label: 'Email', type: 'string', primary: true },
      { key: 'service', label: 'Service', type: 'string' },
      { key: 'from', label: 'From', type: 'datetime' },
      { key: 'to', label: 'To', type: 'datetime' },
      { key: 'users', label: 'Users with Usage', type: 'integer' },
      { key: 'calls', label: 'Calls', type: 'integer' },
      { key: 'failedCalls', label: 'Failed Calls', type: 'integer' },
      { key: 'credits', label: 'Credits Used', type: 'integer' },
      { key: 'searchCalls', label: 'Search Calls', type: 'integer' },
      { key: 'searchFailedCalls', label: 'Search Failed Calls', type: 'integer' },
      { key: 'searchCredits', label: 'Search Credits Used', type: 'integer' },
      { key: 'browserCalls', label: 'Browser Calls', type: 'integer' },
      { key: 'browserFailedCalls', label: 'Browser Failed Calls', type: 'integer' },
      { key: 'browserCredits', label: 'Browser Credits Used', type: 'integer' },
    ],
  },
});
