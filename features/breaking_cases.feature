@policy
Feature: The breaking case of each rule, judged at the provider
  Rules whose breaks the suite caught only through a neighbouring rule: here each scenario
  checks one rule's own breaking case where it shows, at Microsoft or Exchange, so a failure is
  that rule's. A user outside the allowed domains, or waiting for the account's consent, is
  never sent to Microsoft; a user choosing more than the admin allows gets no wider access
  there; a group's setting holds for its member at the provider; a refused approval of
  application permissions sets nothing up; Office 365 selected for rooms takes the company's
  authorization to Microsoft.

  @req:DOMAIN-01 @needs:office365-graph
  Scenario Outline: A user outside the allowed domains is never sent to Microsoft (<who>)
    Given a meeting platform account owned by the admin of tenant "contoso"
    And the admin enables calendar and contacts integration
    And the admin sets the default calendar service to "Office 365" authorized with "Graph API"
    And the admin sets the calendar permission to "Read" and the contacts permission to "None"
    And the admin changes the account settings:
      | setting         | value     |
      | allowed_domains | <allowed> |
    And the user is <who>
    When the user tries to set up the calendar integration with the default service from the profile
    Then Microsoft was never asked to authorize anything for the user

    Examples:
      | who                                               | allowed     |
      | the tenant "contoso" user with a look-alike address | <CONTOSO>.  |
      | the second member of tenant "contoso"             | example.com |

  @req:CONSENT-03 @needs:rooms
  Scenario: With consent on behalf of the account required, a user is not sent to Microsoft before the Office 365 admin consents
    Given a meeting platform account owned by the admin of tenant "contoso"
    And the admin enables calendar and contacts integration
    And the admin sets the default calendar service to "Office 365" authorized with "Graph API"
    And the admin sets the calendar permission to "Read" and the contacts permission to "None"
    And the admin changes the account settings:
      | setting                      | value |
      | consent_on_behalf_of_account | on    |
    And the user is the second member of tenant "contoso"
    When the user tries to set up the calendar integration with the default service from the profile
    Then Microsoft was never asked to authorize anything for the user

  @req:GRAPH-02 @needs:office365-graph
  Scenario: A user who chooses more than the admin's permissions is not given more at Microsoft
    Given a meeting platform account owned by the admin of tenant "contoso"
    And the admin enables calendar and contacts integration
    And the admin sets the default calendar service to "Office 365" authorized with "Graph API"
    And the admin sets the calendar permission to "Read" and the contacts permission to "None"
    And the user is the first member of tenant "contoso"
    When the user tries to set up the calendar integration choosing calendar "Write" and contacts "Read"
    Then Microsoft was asked for no calendar or contacts permission beyond those the admin set

  @req:ADMIN-05 @needs:office365-graph @needs:google
  Scenario: A group's default calendar service is where its member's set-up goes, not the account's
    Given a meeting platform account owned by the admin of tenant "contoso"
    And the admin enables calendar and contacts integration
    And the admin sets the default calendar service to "Office 365" authorized with "Graph API"
    And the admin sets the calendar permission to "Read" and the contacts permission to "None"
    And the admin changes the account settings:
      | setting                  | value  |
      | default_calendar_service | google |
    And the account has a group "Sales" with the first member of tenant "contoso"
    And the admin sets "default_calendar_service" to "Office 365" for the group "Sales"
    When the first member of tenant "contoso" starts the set-up with the default service from the profile
    Then the set-up of the group's member went to "Office 365", the group's default service

  @req:ADMIN-05 @needs:exchange-ews
  Scenario: Enforce OAuth 2.0 set for a group keeps its member's mailbox password from Exchange
    Given a meeting platform account owned by the admin of tenant "contoso"
    And the admin enables calendar and contacts integration
    And the account has a group "Sales" with the first member of tenant "contoso"
    And the Exchange server of tenant "contoso" runs on-premises, build "15.1.2507.6"
    And the admin sets the default calendar service to "Exchange" through the EWS URL
    And the admin sets "enforce_oauth" to "on" for the group "Sales"
    When the first member of tenant "contoso" tries to connect Exchange with their mailbox password
    Then no Basic credentials of the group's member reached Exchange

  @req:APPPERM-01 @needs:app-permissions
  Scenario: When Microsoft refuses the approval of application permissions, nothing is set up
    Given a meeting platform account owned by the admin of tenant "contoso" whose first member is an account admin
    And the admin enables calendar and contacts integration
    And the admin sets the default calendar service to "Office 365" authorized with "Graph API"
    And the admin chooses that the Office 365 admin sets up the integration with application permissions
    And the user is the second member of tenant "contoso"
    When the account admin tries to authorize the integration as Office 365 admin on behalf of the company
    And the user tries to set up the calendar integration with the default service from the profile
    Then the user's set-up waits until the Office 365 admin has set up application permissions

  @req:ROOMS-03 @needs:rooms
  Scenario: Office 365 selected as the room calendar service takes the company's authorization to Microsoft, whatever the contacts service
    Given a meeting platform account owned by the admin of tenant "fabrikam"
    And the admin enables calendar and contacts integration
    And the admin sets the calendar permission to "Read" and the contacts permission to "None"
    And the admin sets the default calendar service to "Office 365" authorized with "Graph API"
    And the admin changes the account settings:
      | setting                  | value  |
      | default_contacts_service | google |
    When the admin authorizes the room calendar service as Office 365 admin on behalf of the company
    Then the admin's authorization for the room calendar service was given at Microsoft
